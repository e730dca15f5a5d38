"""The attack classes of issue 11, applied to a valid call from specs.py (one attack per case).

values  NaN / +-Inf / huge (3e38) / zero fills of one float array, or a NaN/Inf float scalar
dtype   one array in float16/64, int32/64, uint8, bool, complex64 or object
rank    one array one dimension more or fewer
layout  one array non-contiguous, reversed (negative strides), Fortran-ordered or broadcast (stride 0)
alias   a written argument shares memory with another argument: the same object, the same
        memory through another view, or a partial overlap shifted by a few elements
int     an int argument (or both halves of a pair) set to 2**31, 2**63, -1, ...
type    an argument replaced by a value of the wrong type; or an unknown keyword
"""

from __future__ import annotations

from hypothesis import strategies as st

from .specs import SPECS

DTYPES = ["float16", "float64", "int32", "int64", "uint8", "bool", "complex64", "object"]
FILLS = ["nan", "inf", "-inf", "huge", "zeros", "mixed"]
LAYOUTS = ["strided", "reversed", "fortran", "broadcast"]
HUGE_INTS = [2**31, 2**31 - 1, 2**32, 2**63, 2**63 - 1, 2**64, -1, 0, -(2**63)]
WRONG = [None, "x", 1.5, [1, 2], {"a": 1}, True, 10**30, float("nan")]
ATTACKS = ["none", "values", "dtype", "rank", "layout", "alias", "int", "type"]


def arrays_in(kw):
    """(path, spec) of every float32 array spec, top level and inside lists."""
    found = []
    for k, v in kw.items():
        items = [((k, i), e) for i, e in enumerate(v)] if isinstance(v, list) else [((k,), v)]
        found += [(p, e) for p, e in items if isinstance(e, dict) and "$a" in e]
    return found


def _replace(kw, path, value):
    kw = dict(kw)
    if len(path) == 1:
        kw[path[0]] = value
    else:
        kw[path[0]] = list(kw[path[0]])
        kw[path[0]][path[1]] = value
    return kw


def _with(spec_, **change):
    shape, dtype, fill = spec_["$a"][:3]
    layout = spec_["$a"][3] if len(spec_["$a"]) > 3 else "c"
    new = {"shape": shape, "dtype": dtype, "fill": fill, "layout": layout, **change}
    return {"$a": [new["shape"], new["dtype"], new["fill"], new["layout"]]}


@st.composite
def attacked(draw, name):
    """(kind, kw): a valid call of op `name` with one attack applied ("none" for the plain call)."""
    spec_ = SPECS[name]
    kw = draw(spec_.build)
    kind = draw(st.sampled_from(ATTACKS))
    arrays = arrays_in(kw)
    if kind == "values" and (arrays or spec_.float_args):
        if spec_.float_args and (not arrays or draw(st.booleans())):
            return kind, {
                **kw,
                draw(st.sampled_from(spec_.float_args)): draw(
                    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e39, -1.0])
                ),
            }
        path, a = draw(st.sampled_from(arrays))
        return kind, _replace(kw, path, _with(a, fill=draw(st.sampled_from(FILLS))))
    if kind in ("dtype", "rank", "layout") and arrays:
        path, a = draw(st.sampled_from(arrays))
        if kind == "dtype":
            return kind, _replace(kw, path, _with(a, dtype=draw(st.sampled_from(DTYPES))))
        if kind == "layout":
            return kind, _replace(kw, path, _with(a, layout=draw(st.sampled_from(LAYOUTS))))
        shape = a["$a"][0]
        shape = [1] + shape if draw(st.booleans()) or not shape else shape[:-1]
        return kind, _replace(kw, path, _with(a, shape=shape))
    if kind == "alias" and spec_.written:
        mine = [w for w in spec_.written if isinstance(kw.get(w), dict) and "$a" in kw[w]]
        others = [p[0] for p, _ in arrays if len(p) == 1]
        if mine and len(others) > 1:
            writer = draw(st.sampled_from(mine))
            target = draw(st.sampled_from([o for o in others if o != writer]))
            mode = draw(st.sampled_from(["same", "view", "partial"]))
            shape = kw[writer]["$a"][0]
            return kind, {**kw, writer: {"$alias": [target, mode, draw(st.integers(1, 3)), shape]}}
    if kind == "int" and spec_.ints:
        arg = draw(st.sampled_from(spec_.ints))
        value = draw(st.sampled_from(HUGE_INTS))
        if arg == "padding":
            return kind, {**kw, arg: [value, 0, 0, value] if draw(st.booleans()) else value}
        return kind, {**kw, arg: [value, 1] if draw(st.booleans()) and arg != "vocab_size" else value}
    if kind == "type":
        if not kw or draw(st.integers(0, 4)) == 0:
            return kind, {**kw, "no_such_argument": 1}
        arg = draw(st.sampled_from(sorted(kw)))
        return kind, {**kw, arg: draw(st.sampled_from(WRONG))}
    return "none", kw
