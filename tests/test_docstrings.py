"""Every public function and class of the user-facing modules has a docstring (issue 12,
point 10; docs/CONTRIBUTING.md says what one gives: shapes, dtypes, units, the exceptions
raised, the source of a formula).

``test_ops_docstrings`` holds the stricter rule for ``sinapse.ops`` and its weight
converter ``sinapse.ops.rnn_convert`` (each function's docstring gives shapes and has a
"Raises" part).
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

MODULES = ["sinapse.losses", "sinapse.metrics", "sinapse.models"]


def _public(module_name: str) -> list[tuple[str, object]]:
    """(name, object) for every public function and class a module offers and sinapse defines
    (``__all__`` when the module has one, else every name without a leading underscore)."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    found = []
    for name in names:
        obj = getattr(module, name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__.startswith("sinapse"):
            found.append((name, obj))
    return found


def _doc(obj) -> str:
    """The object's own docstring (a class does not inherit its base's here)."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    return inspect.cleandoc(doc or "")


@pytest.mark.parametrize("module_name", MODULES)
def test_public_api_has_docstrings(module_name):
    items = _public(module_name)
    assert items, f"{module_name} offers no public functions or classes"
    missing = sorted(name for name, obj in items if not _doc(obj))
    assert not missing, f"{module_name}: no docstring on {', '.join(missing)}"


# A docstring "gives shapes" when it names one: "(N, D)", "shape", "same shape", "1-D", ...
_SHAPES = re.compile(r"\(\s*[A-Za-z0-9_]+\s*,|\bshapes?\b|\b\d-D\b", re.I)


@pytest.mark.parametrize("module_name", ["sinapse.ops", "sinapse.ops.rnn_convert"])
def test_ops_docstrings(module_name):
    """Every public function of ``sinapse.ops`` documents its shapes and what it raises."""
    problems = []
    for name, obj in _public(module_name):
        if not inspect.isfunction(obj):
            continue
        doc = _doc(obj)
        if not doc:
            problems.append(f"{name}: no docstring")
            continue
        if not _SHAPES.search(doc):
            problems.append(f"{name}: the docstring gives no shapes")
        if not re.search(r"^\s*Raises\b", doc, flags=re.M):
            problems.append(f"{name}: the docstring has no 'Raises' part")
    assert not problems, f"{module_name} docstrings:\n" + "\n".join(problems)


def test_the_checks_see_what_they_look_for():
    """The helpers themselves: a class's own docstring counts, an inherited one does not."""

    class Base:
        """Base."""

    class Child(Base):
        pass

    assert _doc(Base) == "Base." and _doc(Child) == ""
    assert _SHAPES.search("x: float32 (N, D)") and _SHAPES.search("of the same shape")
    assert not _SHAPES.search("adds two numbers")
