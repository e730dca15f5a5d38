"""Prepared calls: every op is a descriptor step and a launch step, and a plan keeps the descriptor.

The way cuDNN and oneDNN separate a descriptor from its execution: ``describe`` validates an
op's arguments (every check in ops/_checks.py) and computes what the kernel needs (device,
geometry, enum codes, the shape of each array); ``launch`` runs the kernel from that and the
arrays, checking nothing. Each public op is ``launch(describe(...), arrays...)``, one code path.

``ops.prepare(op, *args, **kwargs)`` (or ``op.prepare(...)``) runs the descriptor step once on
example arrays and returns a :class:`Plan`. Calling the plan with arrays launches the kernel
after the few cheap checks of what can change between calls — each array's type, dtype, shape,
contiguity (and writeability of those written), the device (CPU, CUDA, or the simulator,
which ``sinapse.cuda.simulate()`` switches on and off), and a bounds test that no written
array overlaps another argument; on CUDA, at every call, the GPU and the producer streams
(``_device.consume``). Anything that differs falls back to the full op, so the error
is the op's own. Arrays identical (``is``) to the previous call's are not checked again (the plan
keeps them alive; an in-place ``a.shape = ...`` between calls is not seen, the bindings' size
checks still guard memory).

    plan = ops.max_pool2d.prepare(x, pool_size=2, padding="same")
    y = plan(x, out=y)             # same as ops.max_pool2d(x, 2, padding="same", out=y)

An op with several results takes ``out=`` as a tuple, one entry per result (the NumPy ufunc
convention); its descriptor names the results (``out_tuple``), and a plan takes them as
arrays of those names (``plan(dy, x, w, dx=..., dw=..., db=...)``, or ``out=(...)``).

The non-array arguments are fixed in the plan; an op may name a few ``dynamic`` ones that
change at every call (the optimizer updates' ``learning_rate`` and ``step``), validated per
call by the op's own checks. The bindings check the memory contract in every case.
"""

from __future__ import annotations

import inspect as _inspect
from typing import Any, Callable

import numpy as np

from .. import cuda
from . import _device
from ._checks import CPU, CUDA, CUDA_SIM, _may_overlap, _same_memory, inspect

_may_share_memory = np.may_share_memory  # bounds test only: O(1)
MISS = object()  # Plan.run_if_fits: the arrays do not fit, nothing ran


_F32 = np.dtype(np.float32)
_NONE: dict = {}


class Descriptor:
    """What an op's descriptor step computed: the device, ``params`` (the op's own: geometry,
    enum codes, scalars), the validated arrays (``infos``: name -> ArrayInfo, None for an absent
    one, in the op's order), the shape of each array the launch allocates when not given
    (``outputs``), the inputs it updates in place, and the (written, read) pairs that may be
    exactly the same memory; ``out_tuple``: for an op with several results, their names in the
    order of its ``out=`` tuple (None: a single ``out``). The public op only launches from it;
    a Plan also reads ``layout()``, the per-array facts its cheap checks compare against."""

    __slots__ = ("op", "device", "params", "infos", "outputs", "in_place", "allow", "out_tuple", "_layout")

    def __init__(self, op, device, params, infos, outputs, in_place, allow, out_tuple=None):
        self.op = op
        self.device = device
        self.params = params
        self.infos = infos
        self.outputs = outputs
        self.in_place = in_place
        self.allow = allow
        self.out_tuple = out_tuple
        self._layout = None

    def output(self, name: str, arr):
        """Output ``name`` as given, or a new float32 array of its described shape (None: a
        result this call does not compute)."""
        if arr is None and self.outputs[name] is None:
            return None
        return arr if arr is not None else _device.empty(self.op, self.device, self.outputs[name])

    @property
    def names(self) -> tuple[str, ...]:
        """The array arguments in the op's order: inputs, then outputs (what a Plan takes)."""
        return self.layout()[0]

    def layout(self) -> tuple:
        """(names, shapes, dtypes, number of inputs, written indices, allowed (written, read)
        index pairs), computed once: only plans need it."""
        if self._layout is None:
            infos, outputs = self.infos, self.outputs
            names = (*infos, *(n for n in outputs if n not in infos))
            shapes = tuple(
                (None if outputs[n] is None else tuple(outputs[n]))
                if n in outputs
                else (None if infos[n] is None else tuple(infos[n].shape))
                for n in names
            )
            dtypes = tuple(_F32 if n in outputs or infos[n] is None else infos[n].dtype for n in names)
            index = {n: i for i, n in enumerate(names)}
            written = tuple(index[n] for n in (*self.in_place, *outputs))
            pairs = tuple((index[w], index[r]) for w, r in self.allow)
            self._layout = (names, shapes, dtypes, len(infos), written, pairs)
            self.infos = dict.fromkeys(infos)  # the names only: a plan does not keep its example arrays alive
        return self._layout


def descriptor(
    op: str,
    device: str,
    infos: dict,
    params: Any,
    *,
    outputs: dict | None = None,
    in_place: tuple[str, ...] = (),
    allow: tuple[tuple[str, str], ...] = (),
    out_tuple: tuple[str, ...] | None = None,
) -> Descriptor:
    """A Descriptor from validated arguments. ``infos``: name -> ArrayInfo (None: absent), in
    the launch's order (the op's); ``outputs``: name -> shape of each array the kernel writes
    (allocated when not given), after the inputs; ``in_place``: inputs the kernel updates;
    ``allow``: (written, read) pairs that may be exactly the same memory (in place);
    ``out_tuple``: the results' names in the order of the op's tuple ``out=`` (an output of
    shape None: a result the call does not compute). Cheap: the public op builds one per call
    (the plan's layout is computed on demand)."""
    return Descriptor(op, device, params, infos, outputs or _NONE, in_place, allow, out_tuple)


def op_arguments(out_tuple: tuple[str, ...] | None, named: dict) -> dict:
    """The op's keyword arguments from arrays by descriptor name: an op with several results
    (``out_tuple``: their names) gets its outputs back as the ``out=`` tuple."""
    if out_tuple is None:
        return named
    named = dict(named)
    out = tuple(named.pop(n, None) for n in out_tuple)
    named["out"] = None if all(o is None for o in out) else out
    return named


def _expand_out(desc: Descriptor, kwargs: dict) -> dict:
    """A plan call's ``out=(...)`` as arrays by result name (ops with several results)."""
    if desc.out_tuple is None or "out" not in kwargs:
        return kwargs
    kwargs = dict(kwargs)
    out = kwargs.pop("out")
    if out is not None:
        if not isinstance(out, (tuple, list)) or len(out) != len(desc.out_tuple):
            raise TypeError(f"{desc.op} plan: `out` must be a tuple of {len(desc.out_tuple)} arrays or None.")
        kwargs.update(zip(desc.out_tuple, out))
    return kwargs


class Plan:
    """A prepared op: ``plan(*arrays, **named_arrays)`` runs it on arrays like the example's.

    Arrays are the op's array arguments, positionally in the op's order or by name (``out=``);
    see the module docstring for what is checked per call and what falls back to the op.
    """

    __slots__ = (
        "op",
        "desc",
        "fixed",
        "_launch",
        "_rebind",
        "_last",
        "_names",
        "_known",
        "_shapes",
        "_dtypes",
        "_inputs",
        "_written",
        "_allow",
    )

    def __init__(self, op: Callable, desc: Descriptor, fixed: dict, launch: Callable, rebind: Callable | None):
        self.op = op
        self.desc = desc
        self.fixed = fixed  # the op's non-array arguments, as given to prepare
        self._launch = launch
        self._rebind = rebind
        self._names, self._shapes, self._dtypes, self._inputs, self._written, self._allow = desc.layout()
        self._known = frozenset(self._names)
        self._last = (None,) * len(self._names)  # the arrays of the last call that passed every check

    def __repr__(self) -> str:
        arrays = ", ".join(f"{n}={s}" for n, s in zip(self._names, self._shapes) if s is not None)
        return f"<Plan {self.desc.op} on {self.desc.device}: {arrays}>"

    def __call__(self, *args, **kwargs):
        if kwargs:
            kwargs = _expand_out(self.desc, kwargs)
        result = self.run_if_fits(args, kwargs)
        if result is not MISS:
            return result
        arrays = self._arrays(args, kwargs)  # the full op: its result, or its error
        named = op_arguments(self.desc.out_tuple, dict(zip(self._names, arrays)))
        return self.op(**named, **{**self.fixed, **kwargs})

    def run_if_fits(self, args: tuple | list, kwargs: dict):
        """Launch when the arrays fit the descriptor, else return MISS, running nothing.

        ``args``: arrays in the op's order; ``kwargs``: arrays by name, and the per-call
        scalars if the op has any (left unchanged)."""
        names = self._names
        n = len(args)
        if n == len(names):  # every array positionally: what layers and optimizers pass
            arrays = args
        elif kwargs:
            arrays = list(args)
            for name in names[n:]:  # a plain loop: cheaper than a comprehension here
                arrays.append(kwargs.get(name))
        else:
            arrays = [*args, *(None,) * (len(names) - n)]
        if len(arrays) != len(names) or not self._fits(arrays):
            return MISS
        if self._rebind is None:
            if kwargs and not kwargs.keys() <= self._known:  # an argument the op may refuse: let it
                return MISS
            return self._launch(self.desc, *arrays)
        if not kwargs.keys().isdisjoint(self._known):  # arrays by name too: keep the scalars only
            kwargs = {k: v for k, v in kwargs.items() if k not in self._known}
        return self._launch(self.desc, *arrays, dynamic=self._rebind(self.desc, **kwargs))

    def rebind(self, **scalars):
        """The per-call scalars (``dynamic`` ones: an optimizer's learning_rate, step and
        grad_scale) validated by the op's own checks, for ``run_bound``."""
        if self._rebind is None:
            raise TypeError(f"{self.desc.op} plan: the op has no per-call scalars.")
        return self._rebind(self.desc, **scalars)

    def run_bound(self, arrays: tuple | list, dynamic):
        """``run_if_fits`` with the arrays positionally and the scalars already validated by
        ``rebind``: an optimizer validates its step's scalars once for all its parameters
        (the same op, the same values), then launches each parameter's plan with them."""
        if len(arrays) != len(self._names) or not self._fits(arrays):
            return MISS
        return self._launch(self.desc, *arrays, dynamic=dynamic)

    def _arrays(self, args: tuple, kwargs: dict) -> list:
        """The arrays in the descriptor's order, from positional and named ones (popped from kwargs,
        which keeps the per-call scalars)."""
        names = self._names
        if len(args) > len(names):
            raise TypeError(f"{self.desc.op} plan: takes at most {len(names)} arrays ({', '.join(names)}).")
        return [*args, *(kwargs.pop(name, None) for name in names[len(args) :])]

    def _fits(self, arrays) -> bool:
        """Whether ``arrays`` are what the descriptor was made for (see the module docstring)."""
        last, device = self._last, self.desc.device
        on_host = device != CUDA
        if on_host and (CUDA_SIM if cuda.simulating() else CPU) != device:
            return False
        for a, b in zip(arrays, last):  # the common case (a layer's buffers, an optimizer's
            if a is not b:  # parameters): the very arrays of the last call, as checked then
                break
        else:
            return on_host or self._consume(arrays)
        shapes, written = self._shapes, self._written
        changed = False
        for i, a in enumerate(arrays):
            if a is last[i]:  # the very array of the last call (kept alive by _last): as checked then
                continue
            changed = True
            if a is None:
                if shapes[i] is not None and i < self._inputs:  # a prepared input is missing
                    return False
                continue
            if shapes[i] is None:  # an input that was absent when prepared
                return False
            if on_host:
                if not (
                    type(a) is np.ndarray
                    and a.dtype == self._dtypes[i]
                    and a.shape == shapes[i]
                    and a.flags.c_contiguous
                    and (i not in written or a.flags.writeable)
                ):
                    return False
            elif not self._fits_cuda(i, a):
                return False
        if changed:
            if not self._separate(arrays):
                return False
            self._last = tuple(arrays)
        return on_host or self._consume(arrays)

    def _consume(self, arrays) -> bool:
        """CUDA, at every call, even with the very arrays of the last one: the arrays on the
        current GPU, and the launch stream ordered after their producers' streams (the CUDA
        Array Interface's ``stream``, _device.consume). True, or the op's ValueError."""
        _device.consume_arrays(self.desc.op, self._names, arrays)
        return True

    def _fits_cuda(self, i: int, a) -> bool:
        """The cheap checks for a CUDA array (anything with __cuda_array_interface__)."""
        try:
            info = inspect(self.desc.op, self._names[i], a)
        except (TypeError, ValueError):
            return False
        return (
            info.device == CUDA
            and info.dtype == self._dtypes[i]
            and tuple(info.shape) == self._shapes[i]
            and info.c_contiguous
            and (i not in self._written or info.writeable)
        )

    def _separate(self, arrays) -> bool:
        """No written array overlaps another argument, but for the allowed exact in-place pairs."""
        last, op = self._last, self.desc.op
        on_host = self.desc.device != CUDA
        for w in self._written:
            aw = arrays[w]
            if aw is None:
                continue
            for j, aj in enumerate(arrays):
                if j == w or aj is None or (aw is last[w] and aj is last[j]):
                    continue
                if on_host:
                    overlap = _may_share_memory(aw, aj)
                else:
                    overlap = _may_overlap(inspect(op, "", aw), inspect(op, "", aj))
                if overlap and not (
                    (w, j) in self._allow and (aw is aj or _same_memory(inspect(op, "", aw), inspect(op, "", aj)))
                ):
                    return False
        return True


class PlanCache:
    """The plans of one call site of an op (a layer's forward), one per key (the input shape).

    ``PlanCache(ops.max_pool2d, ("x", "out"), pool_size=2)``: the op, the names of the arrays
    each call passes (positionally, in the op's descriptor order: see ``Plan.desc.names``) and
    the op's other arguments. ``cache(key, x, out)`` runs the key's plan, preparing it — the
    op's full validation, and its errors — on the first call and whenever the arrays do not
    fit it (another device, dtype, an aliased ``out``).
    """

    __slots__ = ("op", "names", "fixed", "_plans")

    def __init__(self, op: Callable, names: tuple[str, ...], /, **fixed):
        self.op = op
        self.names = tuple(names)
        self.fixed = fixed  # the op's non-array arguments
        self._plans: dict = {}

    def __call__(self, key, *arrays):
        plan = self._plans.get(key)
        if plan is not None:
            result = plan.run_if_fits(arrays, _NO_KWARGS)
            if result is not MISS:
                return result
        if len(self._plans) >= 16:  # many shapes (e.g. variable-length batches): forget the old ones
            self._plans.clear()
        named = op_arguments(getattr(self.op, "out_tuple", None), dict(zip(self.names, arrays)))
        plan = prepare(self.op, **named, **self.fixed)
        if plan._names != self.names:
            raise TypeError(f"PlanCache: {self.op.__name__} takes arrays {plan.desc.names}, not {self.names}.")
        self._plans[key] = plan
        return plan(*arrays)

    def clear(self) -> None:
        """Forget every plan (the op's fixed arguments changed)."""
        self._plans.clear()


_NO_KWARGS: dict = {}


def preparable(
    describe: Callable, launch: Callable, *, rebind: Callable | None = None, out_tuple: tuple[str, ...] | None = None
):
    """Decorator for a public op ``fn`` whose body is ``launch(describe(<its arguments>), <arrays>)``:
    gives it ``fn.prepare(*args, **kwargs) -> Plan`` (``describe`` takes fn's arguments).

    ``out_tuple``: for an op with several results, their names in the order of its ``out=``
    tuple (the descriptor's ``out_tuple``; PlanCache reads it as ``fn.out_tuple``).

    ``rebind(desc, **dynamic)``: for ops with per-call scalars, validates them (the op's own
    checks) and returns what ``launch(desc, *arrays, dynamic=...)`` takes.
    """

    def wrap(fn):
        signature = _inspect.signature(fn)

        def prepare(*args, **kwargs) -> Plan:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            desc = describe(*bound.args, **bound.kwargs)
            skip = ("out",) if desc.out_tuple is not None else ()  # given as arrays by result name
            fixed = {k: v for k, v in bound.arguments.items() if k not in desc.names and k not in skip}
            return Plan(fn, desc, fixed, launch, rebind)

        prepare.__doc__ = f"A Plan: {fn.__name__} validated once for arrays like these (sinapse.ops._plan)."
        fn.prepare = prepare
        fn.out_tuple = out_tuple
        return fn

    return wrap


def run(describe: Callable, launch: Callable, arguments: dict):
    """``launch(describe(**arguments), <the arrays among them>)``: the body of an op whose
    arguments are many (``run(_describe, _launch, locals())`` as its first statement)."""
    desc = describe(**arguments)
    if desc.out_tuple is not None:  # the outputs from the out=(...) tuple
        out = arguments.get("out")
        arguments = {**arguments, **dict(zip(desc.out_tuple, (None,) * len(desc.out_tuple) if out is None else out))}
    return launch(
        desc, *(arguments[n] for n in desc.infos), *(arguments[n] for n in desc.outputs if n not in desc.infos)
    )


def prepare(op: Callable, *args, **kwargs) -> Plan:
    """``op.prepare(*args, **kwargs)``: a :class:`Plan` of ``op`` for arrays like ``args``'.

    TypeError for an op without a prepared form; the op's own errors for bad arguments.
    """
    prep = getattr(op, "prepare", None)
    if prep is None:
        raise TypeError(f"prepare: {getattr(op, '__name__', op)!r} is not a sinapse.ops op with a prepared form.")
    return prep(*args, **kwargs)
