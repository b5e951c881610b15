"""Problem classes as objects, and the registry that every other part loops over.

A :class:`ProblemClass` owns everything that differs between classes: its objectives and
parameters (read by the loader and the JSON Schema), the key of its solution body and that body's
JSON Schema, its validator and cheap bounds, its generator parameters, its example and its
random-feasible baseline answer. The loader, the schema, the validator's dispatch, the generators,
``schedbench demo`` and the ``random-feasible`` solver read :data:`PROBLEM_CLASSES` and hold no
per-class table of their own.

The built-in classes are defined one module each in :mod:`schedbench.classes`; that package is
imported (by name, like the solver plugins) the first time the registry is read. A class that ships
with schedbench is a module that defines its :class:`ProblemClass` as ``PROBLEM_CLASS`` and is named
in :data:`BUILTIN_CLASS_MODULES` (docs/formats.md lists the files); an add-on class calls
:func:`register`.
"""

from __future__ import annotations

import importlib
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from schedbench.instances.model import Instance

#: Modules defining the built-in classes, imported in this order the first time the registry is read.
BUILTIN_CLASS_MODULES = (
    "schedbench.classes.placement",
    "schedbench.classes.batch",
    "schedbench.classes.allocation",
    "schedbench.classes.online",
)

#: Per-type job fields other than ``eligible`` and ``demand``.
PER_TYPE_FIELDS = ("time", "cost", "throughput")


@dataclass(frozen=True)
class Objective:
    """One objective of a problem class.

    Attributes:
        name: stable identifier used in instance files (e.g. ``"min-cost"``).
        sense: ``"min"`` or ``"max"``.
        requires: per-type job fields the objective needs (``"time"``, ``"cost"``,
            ``"throughput"``; ``"time|throughput"`` means either).
        description: one line for documentation.
    """

    name: str
    sense: str
    requires: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class ClassParam:
    """A parameter of a problem class (``problem.params`` of an instance), not to be confused with a
    solver's :class:`schedbench.Param`.

    Attributes:
        name: the key in ``problem.params``.
        kind: ``bool``, ``float`` or ``str`` (a ``str`` parameter takes one of ``choices``).
        default: the value filled in when an instance leaves it out.
        description: one line for the schema and the docs.
        choices: allowed values of a ``str`` parameter.
        minimum: least allowed value of a ``float`` parameter.
    """

    name: str
    kind: type
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None

    def check(self, value: Any) -> Any:
        """``value`` checked and normalised (a number as float).

        Raises:
            ValueError: the value does not fit; the message says what was expected.
        """
        if self.kind is bool:
            if type(value) is not bool:
                raise ValueError("true or false")
            return value
        if self.kind is float:
            if type(value) not in (int, float) or not math.isfinite(value):
                raise ValueError("a finite number")
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"a number >= {self.minimum}")
            return float(value)
        if value not in self.choices:
            raise ValueError(f"one of {list(self.choices)}")
        return value

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the parameter's value (with its description and default)."""
        s: dict[str, Any]
        if self.kind is bool:
            s = {"type": "boolean"}
        elif self.kind is float:
            s = {"type": "number"}
            if self.minimum is not None:
                s["minimum"] = self.minimum
        else:
            s = {"enum": list(self.choices)}
        s["description"] = self.description
        s["default"] = self.default
        return s


#: ``validate(inst, body, file, viol) -> (objective or None, metrics)``: checks the body of a solution
#: (``viol`` is a :class:`schedbench.validator.result.Violations`); raises DataError on malformed input.
Validate = Callable[["Instance", Any, str, Any], tuple[float | None, dict[str, Any]]]
#: ``bounds(inst) -> {"lower_bound": x} | {"upper_bound": x} | {}`` for an instance with at least one job.
Bounds = Callable[["Instance"], dict[str, float]]
#: ``example() -> (instance, [(solution name, solution document), ...])``.
Example = Callable[[], tuple["Instance", list[tuple[str, dict[str, Any]]]]]


@dataclass(frozen=True)
class BaselineAnswer:
    """What a class's random-feasible baseline returns.

    Attributes:
        solution: the solution document, or None (no answer, e.g. status ``infeasible``).
        status: ``feasible``, ``infeasible`` or ``unknown`` (as in :class:`schedbench.SolveResult`).
        info: extra figures for the run record.
    """

    solution: dict[str, Any] | None
    status: str
    info: dict[str, Any] = field(default_factory=dict)


#: ``baseline(inst, rng, params, remaining) -> BaselineAnswer``: a seeded random feasible answer, all
#: randomness from ``rng``; ``params`` are the solver's parameters, ``remaining()`` the seconds left.
Baseline = Callable[["Instance", "np.random.Generator", Mapping[str, Any], Callable[[], float]], BaselineAnswer]


@dataclass(frozen=True)
class ProblemClass:
    """A problem class and everything that is particular to it.

    Attributes:
        name: the ``problem.class`` of instances and ``problem`` of solutions.
        description: one line for the schema, the docs and help texts.
        body_key: the top-level key of a solution holding the answer (e.g. ``"assignment"``).
        objectives: the objectives; the first is the generator's default.
        params: the class parameters (``problem.params``).
        solution_body: JSON Schema of the solution body (the value under ``body_key``).
        validate: the class's validator (:data:`Validate`); it recomputes everything from the
            instance and the solution.
        bounds: cheap valid bounds on the optimum from the instance alone (:data:`Bounds`).
        generator_params: the class's own generator parameters after ``objective``
            (:class:`schedbench.generators.spec.ParamSpec`; the common ones are in
            :data:`schedbench.generators.core.COMMON`).
        example: a small illustrative instance with named hand-made solutions (:data:`Example`).
        baseline: the seeded random-feasible answer of the ``random-feasible`` solver (:data:`Baseline`).
        planted: the generator plants a feasible answer and builds the cluster from the nodes it opened
            (placement; :mod:`schedbench.generators.core`). Otherwise it builds the preset cluster. Either
            way it draws releases when the class has a ``load`` or ``arrival_load`` generator parameter and
            writes the ``cost`` and ``throughput`` columns when some objective requires them.
    """

    name: str
    description: str
    body_key: str
    objectives: tuple[Objective, ...]
    params: tuple[ClassParam, ...]
    solution_body: dict[str, Any]
    validate: Validate
    bounds: Bounds
    generator_params: tuple[Any, ...]
    example: Example
    baseline: Baseline
    planted: bool = False

    def objective(self, name: str) -> Objective | None:
        """The objective called ``name``, or None."""
        return next((o for o in self.objectives if o.name == name), None)

    def problem_schema(self) -> dict[str, Any]:
        """The class's variant of the instance schema's ``problem`` object: its name, objectives and parameters."""
        return {
            "description": self.description,
            "properties": {
                "class": {"const": self.name},
                "objective": {"enum": [o.name for o in self.objectives]},
                "params": {
                    "type": "object",
                    "properties": {p.name: p.schema() for p in self.params},
                    "additionalProperties": False,
                },
            },
        }


class ClassRegistry(Mapping[str, ProblemClass]):
    """Registered problem classes by name, in registration order (built-ins first).

    Reading it imports the built-in class modules once. It refuses a second class with the same
    name or the same solution body key.
    """

    def __init__(self, builtin_modules: tuple[str, ...]) -> None:
        self._classes: dict[str, ProblemClass] = {}
        self._builtin_modules = builtin_modules
        self._builtin: frozenset[str] = frozenset()
        self._loaded = False
        self._loading = False
        self._lock = threading.RLock()

    def _ensure(self) -> dict[str, ProblemClass]:
        """The classes, after importing the built-in modules once. Other threads wait for the import;
        the importing thread itself (a module reading the registry while it loads) sees the classes
        registered so far. A failed import is retried on the next read."""
        if not self._loaded:
            with self._lock:
                if not self._loaded and not self._loading:
                    self._loading = True
                    try:
                        builtins = [self._builtin_class(module) for module in self._builtin_modules]
                        added = dict(self._classes)  # add-ons registered while the built-ins loaded
                        self._classes.clear()
                        for cls in [*builtins, *added.values()]:
                            self._add(cls)
                        self._builtin = frozenset(c.name for c in builtins)
                        self._loaded = True
                    finally:
                        self._loading = False
        return self._classes

    @staticmethod
    def _builtin_class(module: str) -> ProblemClass:
        """The ``PROBLEM_CLASS`` that the built-in class module ``module`` defines.

        Built-in modules only define their class (importing one registers nothing), so the
        registry's order and its set of built-ins do not depend on which module was imported first.
        """
        cls = getattr(importlib.import_module(module), "PROBLEM_CLASS", None)
        if not isinstance(cls, ProblemClass):
            raise ImportError(
                f"{module} defines no PROBLEM_CLASS (a ProblemClass); was the registry read while "
                "that module was still being imported?"
            )
        return cls

    def register(self, cls: ProblemClass) -> ProblemClass:
        """Add ``cls`` (an add-on class; built-ins are listed in :data:`BUILTIN_CLASS_MODULES`); return it.

        Raises:
            ValueError: another class has the same name or the same body key.
        """
        with self._lock:
            self._ensure()  # built-ins first
            self._add(cls)
        return cls

    def _add(self, cls: ProblemClass) -> None:
        """Append ``cls`` unless its name or body key is taken (ValueError)."""
        with self._lock:
            for other in self._classes.values():
                if other.name == cls.name:
                    raise ValueError(f"problem class {cls.name!r} is already registered")
                if other.body_key == cls.body_key:
                    raise ValueError(
                        f"problem class {cls.name!r}: body key {cls.body_key!r} is already the "
                        f"body key of {other.name!r}"
                    )
            self._classes[cls.name] = cls

    def unregister(self, name: str) -> None:
        """Remove a class that was registered at run time (tests of add-on classes).

        Raises:
            KeyError: no such class. ValueError: ``name`` is a built-in class.
        """
        with self._lock:
            if name not in self._ensure():
                raise KeyError(name)
            if name in self._builtin:
                raise ValueError(f"{name!r} is a built-in problem class")
            del self._classes[name]

    def __getitem__(self, name: str) -> ProblemClass:
        return self._ensure()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._ensure()))

    def __len__(self) -> int:
        return len(self._ensure())

    def __contains__(self, name: object) -> bool:
        return name in self._ensure()


#: The registry of problem classes (a read-only mapping name -> :class:`ProblemClass`).
PROBLEM_CLASSES = ClassRegistry(BUILTIN_CLASS_MODULES)


def register(cls: ProblemClass) -> ProblemClass:
    """Register a problem class in :data:`PROBLEM_CLASSES` (see :meth:`ClassRegistry.register`)."""
    return PROBLEM_CLASSES.register(cls)


def class_names() -> str:
    """The registered class names for help texts: ``"placement, batch, allocation or online"``."""
    names = list(PROBLEM_CLASSES)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
