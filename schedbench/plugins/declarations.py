"""Checking what a solver plugin declares: names, problems, params, requirements.

Shared by the registry (:mod:`schedbench.plugins.registry`) and the command solvers
(:mod:`schedbench.plugins.command`), which import this module and never each other in both
directions: the registry reads command-solver files, a command solver knows nothing of the
registry.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
from collections.abc import Mapping, Sequence
from typing import Any

from schedbench.instances.problems import PROBLEM_CLASSES
from schedbench.plugins.solver import Param

__all__ = ["NAME_RE", "RegistryError", "check_declarations", "missing_modules", "top_level"]

#: Valid solver names.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class RegistryError(ValueError):
    """A name collision, an invalid name or declaration, a bad command-solver file, or loading an
    unavailable solver."""


def top_level(module: str) -> str:
    """The top-level package of a module name (``ortools`` for ``ortools.sat.python.cp_model``)."""
    return module.partition(".")[0]


def missing_modules(names: Sequence[str]) -> list[str]:
    """The top-level packages of ``names`` that are not installed, in order, without duplicates.

    Only the top-level package is looked up (:func:`importlib.util.find_spec`), so nothing is
    imported: ``requires = ("pyomo.environ",)`` checks that ``pyomo`` is installed.
    """
    missing: list[str] = []
    for name in dict.fromkeys(top_level(n) for n in names):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # an invalid name
            found = False
        if not found:
            missing.append(name)
    return missing


def check_declarations(cls: type, origin: str) -> dict[str, Any]:
    """Check a solver class's declared attributes; return them normalised.

    Returns:
        ``name``, ``family``, ``version`` (a string), ``problems`` (class -> objectives, duplicates
        dropped), ``params``, ``requires``, ``preload`` (a bool), ``model_formats``, ``deterministic``
        and ``description`` (the docstring's first line when not declared).

    Raises:
        RegistryError: naming the origin, the attribute and what was expected.
    """

    def bad(attr: str, expected: str, found: Any) -> RegistryError:
        return RegistryError(f"{origin}: solver attribute {attr!r}: expected {expected}, found {found!r}")

    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise bad("name", f"a name matching {NAME_RE.pattern}", name)
    family = getattr(cls, "family", None)
    if not isinstance(family, str) or not family:
        raise bad("family", "a non-empty string (greedy, lp, ilp, baseline, external...)", family)
    version = getattr(cls, "version", None)
    if isinstance(version, bool) or not isinstance(version, (str, int)) or str(version) == "":
        raise bad("version", "a non-empty string", version)
    problems = _check_problems(getattr(cls, "problems", None), bad)
    params = getattr(cls, "params", ())
    if not isinstance(params, (tuple, list)) or not all(isinstance(p, Param) for p in params):
        raise bad("params", "a tuple of schedbench.Param", params)
    seen: set[str] = set()
    for p in params:
        if not isinstance(p.name, str) or not p.name or p.name in seen:
            raise bad("params", "unique non-empty parameter names", p.name)
        seen.add(p.name)
        try:
            p.convert(p.default)
        except ValueError as exc:
            raise bad(f"params[{p.name!r}].default", "a valid value", f"{p.default!r} ({exc})") from None
    requires = getattr(cls, "requires", ())
    if (
        isinstance(requires, str)
        or not isinstance(requires, (tuple, list))
        or not all(isinstance(r, str) and r and all(part.isidentifier() for part in r.split(".")) for r in requires)
    ):
        raise bad("requires", "a tuple of module names", requires)
    preload = getattr(cls, "preload", True)
    if not isinstance(preload, bool):
        raise bad("preload", "a boolean", preload)
    formats = getattr(cls, "model_formats", ())
    if (
        isinstance(formats, str)
        or not isinstance(formats, (tuple, list))
        or not all(isinstance(f, str) and f for f in formats)
    ):
        raise bad("model_formats", "a tuple of file formats (mps, lp...)", formats)
    deterministic = getattr(cls, "deterministic", True)
    if not isinstance(deterministic, bool):
        raise bad("deterministic", "a boolean", deterministic)
    description = getattr(cls, "description", "") or ""
    if not isinstance(description, str):
        raise bad("description", "a string", description)
    if not description and cls.__doc__:
        description = inspect.cleandoc(cls.__doc__).split("\n", 1)[0]
    return {
        "name": name,
        "family": family,
        "version": str(version),
        "problems": problems,
        "params": tuple(params),
        "requires": tuple(requires),
        "preload": preload,
        "model_formats": tuple(formats),
        "deterministic": deterministic,
        "description": description,
    }


def _check_problems(raw: Any, bad: Any) -> dict[str, tuple[str, ...]]:
    """``problems`` checked against the registered problem classes and their objectives."""
    if not isinstance(raw, Mapping) or not raw:
        raise bad("problems", "a non-empty mapping {class: (objective, ...)}", raw)
    problems: dict[str, tuple[str, ...]] = {}
    for pc, objs in raw.items():
        spec = PROBLEM_CLASSES.get(pc) if isinstance(pc, str) else None
        if spec is None:
            raise bad("problems", f"problem classes among {sorted(PROBLEM_CLASSES)}", pc)
        if isinstance(objs, str) or not isinstance(objs, (tuple, list)) or not objs:
            raise bad(f"problems[{pc!r}]", "a non-empty tuple of objective names", objs)
        known = [o.name for o in spec.objectives]
        for o in objs:
            if o not in known:
                raise bad(f"problems[{pc!r}]", f"objectives of {pc} among {known}", o)
        problems[pc] = tuple(dict.fromkeys(objs))
    return problems
