"""The solver plugin contract: subclass :class:`Solver`.

A plugin is a class with a ``name``, a ``family``, the ``problems`` it solves, declared
``params`` and a ``solve(instance, context)`` method. The harness runs each ``solve`` call in an
isolated worker process under a hard wall-clock and memory limit, and grades whatever comes back
with the independent validator: a solver never grades itself.

Minimal example::

    from schedbench import Param, Solver, SolveResult

    class FirstFit(Solver):
        name = "first-fit"
        family = "greedy"
        problems = {"placement": ("min-cost", "max-weight")}
        params = (Param("order", str, "input", "job order", choices=("input", "largest")),)
        deterministic = True

        def solve(self, instance, context):
            assignment = {...}                      # job id -> [gpu ids]
            context.report({"problem": "placement", "assignment": assignment})  # optional, anytime
            return SolveResult({"problem": "placement", "assignment": assignment}, status="feasible")

Optional capabilities: ``model_formats`` and :meth:`Solver.export_model` (write the model the
solver would solve as a file, e.g. MPS or LP: ``schedbench export-model --solver NAME``);
:meth:`Solver.variant` registers one implementation under several names with other defaults.
"""

from __future__ import annotations

import abc
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from schedbench.instances.model import Instance

#: Statuses a solver may claim for its answer.
SOLVER_STATUSES = ("optimal", "feasible", "infeasible", "unbounded", "unknown")
#: Every status a run can end with (the harness adds the ones after ``unknown``).
#: ``wrong``: a claim (infeasible, optimal, a bound) contradicted by a known answer or value.
RUN_STATUSES = (
    *SOLVER_STATUSES,
    "timeout",
    "memout",
    "crashed",
    "error",
    "invalid",
    "unsupported",
    "unavailable",
    "wrong",
)


@dataclass(frozen=True)
class Param:
    """A declared solver parameter.

    Attributes:
        name: the key in ``--param name=value`` and run specs.
        kind: ``int``, ``float``, ``bool`` or ``str``; values are converted and checked.
        default: the value when a run does not set it (part of the run's identity either way).
        help: one line.
        choices: allowed values (empty: any value of ``kind``).
        minimum, maximum: bounds for numbers.
    """

    name: str
    kind: type
    default: Any
    help: str = ""
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def convert(self, value: Any) -> Any:
        """Check and convert a value (strings from the command line included).

        Raises:
            ValueError: naming the parameter and what was expected.
        """
        kind = self.kind
        try:
            if kind is bool:
                if isinstance(value, str):
                    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError
                    value = value.lower() in ("true", "1", "yes")
                elif not isinstance(value, bool):
                    raise ValueError
            elif kind is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                value = int(value)
            elif kind is float:
                if isinstance(value, bool):
                    raise ValueError
                value = float(value)
            else:
                value = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"parameter {self.name!r}: expected {kind.__name__}, got {value!r}") from None
        if self.choices and value not in self.choices:
            raise ValueError(f"parameter {self.name!r}: expected one of {list(self.choices)}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"parameter {self.name!r}: expected >= {self.minimum}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"parameter {self.name!r}: expected <= {self.maximum}, got {value!r}")
        return value


def resolve_params(solver: str, params: tuple[Param, ...], given: Mapping[str, Any]) -> dict[str, Any]:
    """Declared defaults of ``params`` updated with ``given``, each converted and checked.

    Raises:
        ValueError: an unknown parameter (naming the solver and its parameters) or a bad value.
    """
    known = {p.name: p for p in params}
    out = {p.name: p.default for p in params}
    for key, value in given.items():
        if key not in known:
            raise ValueError(f"solver {solver!r} has no parameter {key!r}; it has {sorted(known)}")
        out[key] = known[key].convert(value)
    return out


@dataclass
class SolveResult:
    """What ``solve`` returns.

    Attributes:
        solution: the answer in the solution JSON format (a dict), or None when there is none.
        status: one of :data:`SOLVER_STATUSES`. ``optimal`` is a claim the harness checks against
            known values and bounds; ``infeasible`` claims the instance has no solution.
        bound: a proven bound on the optimum (lower for minimisation, upper for maximisation).
        info: free-form JSON-ready details (iterations, nodes, model-building time...).
    """

    solution: dict[str, Any] | None
    status: str = "feasible"
    bound: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in SOLVER_STATUSES:
            raise ValueError(f"status must be one of {SOLVER_STATUSES}, not {self.status!r}")


class Context:
    """What a running solver may know and do.

    Attributes:
        time_limit: seconds of wall-clock time the run has; the harness stops the worker at the
            limit (terminate, then kill), so a solver that wants to return its best answer itself
            should watch :meth:`remaining` and pass the limit to its libraries.
        seed: the run's seed (derived from the run's identity); use it for every random choice.
        params: the solver's parameters, declared defaults filled in.
        threads: threads the solver may use (BLAS and OpenMP are capped to it by the harness).
    """

    def __init__(
        self,
        time_limit: float,
        seed: int,
        params: Mapping[str, Any],
        threads: int = 1,
        reporter: Callable[[dict[str, Any], float | None], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.time_limit = float(time_limit)
        self.seed = int(seed)
        self.params = dict(params)
        self.threads = int(threads)
        self._reporter = reporter
        self._clock = clock or time.monotonic
        self._start = self._clock()

    def elapsed(self) -> float:
        """Seconds since the solve started."""
        return self._clock() - self._start

    def remaining(self) -> float:
        """Seconds left before the harness stops the run."""
        return self.time_limit - self.elapsed()

    def report(self, solution: dict[str, Any] | Any, bound: float | None = None) -> None:
        """Hand the harness an incumbent (anytime). The latest one is kept, validated and used if
        the run times out; each is recorded with its time in the run's trajectory."""
        if self._reporter is not None:
            self._reporter(solution, bound)


class Solver(abc.ABC):
    """Base class of every solver plugin; its attributes and ``solve`` are the contract.

    Class attributes:
        name: unique registry name (lower-case, ``[a-z0-9-]``).
        family: ``greedy``, ``lp``, ``ilp``, ``convex``, ``genetic``, ``annealing``, ``rl``,
            ``policy``, ``external``, ``baseline``...
        version: the plugin's version; part of each run's identity (bump it when results change).
        problems: ``{class: (objective, ...)}`` it solves; other instances are ``unsupported``.
        params: declared :class:`Param` s.
        requires: importable module names it needs; when the top-level package of one is not
            installed the solver is listed as *unavailable* with the reason and its runs are
            recorded as ``unavailable``. Name the module the solver actually imports
            (``pyomo.environ`` rather than ``pyomo``): the harness's workers import these once
            before forking runs (see ``preload``), and campaigns record the versions of the
            distributions providing them.
        preload: whether the workers import ``requires`` before forking runs (default True), so
            that no run pays the import; set False for libraries too large to keep in every
            worker (torch).
        model_formats: the file formats :meth:`export_model` writes (``mps``, ``lp``...); empty
            (the default): the solver cannot export a model.
        deterministic: same instance, parameters and seed give the same answer (checked by
            ``schedbench solvers test``); anytime solvers stopped by the clock are not.
        description: one line for listings.

    ``solve(instance, context)`` returns a :class:`SolveResult` (or a plain solution dict,
    taken as status ``feasible``). It must not modify the instance. Exceptions become status
    ``error`` with the traceback's tail; a crash of the process, ``crashed``.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    problems: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    params: ClassVar[tuple[Param, ...]] = ()
    requires: ClassVar[tuple[str, ...]] = ()
    preload: ClassVar[bool] = True
    model_formats: ClassVar[tuple[str, ...]] = ()
    deterministic: ClassVar[bool] = True
    description: ClassVar[str] = ""

    def supports(self, instance: Instance) -> bool:
        """Whether the solver handles this instance's class and objective."""
        return instance.problem.objective in self.problems.get(instance.problem.cls, ())

    @classmethod
    def unsupported_reason(cls, instance: Instance) -> str | None:
        """Why this solver declines ``instance`` (None: it takes it). Called by the harness before
        any worker starts; a reason makes the run ``unsupported`` with that reason recorded.

        The default declines classes and objectives missing from ``problems``; override it (calling
        ``super()``) to decline features a formulation does not model (gang jobs, release times...),
        so that a declined run is recorded as such rather than as a failure of the solver.
        """
        if instance.problem.objective in cls.problems.get(instance.problem.cls, ()):
            return None
        return f"{cls.name} does not solve {instance.problem.cls}/{instance.problem.objective}; it solves " + (
            ", ".join(f"{c}/{o}" for c, objs in sorted(cls.problems.items()) for o in objs) or "nothing"
        )

    @classmethod
    def resolve_params(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Declared defaults updated with ``given``, each converted and checked.

        Raises:
            ValueError: an unknown parameter or a bad value.
        """
        return resolve_params(cls.name, cls.params, given)

    @abc.abstractmethod
    def solve(self, instance: Instance, context: Context) -> SolveResult | dict[str, Any]:
        """Solve ``instance`` within ``context.time_limit`` seconds (see the class docstring)."""

    def export_model(self, instance: Instance, path: Path, fmt: str, params: Mapping[str, Any]) -> Path:
        """Optional capability: write the model this solver would build for ``instance`` with
        ``params`` (its parameters, declared defaults filled in) to ``path`` in ``fmt``, one of
        ``model_formats``; return the path written. Solvers declaring ``model_formats`` override it.

        Raises:
            ValueError: an instance or parameters the model does not cover (with the reason).
            NotImplementedError: the solver exports no model (the default).
        """
        raise NotImplementedError(f"solver {self.name!r} cannot export a model")

    @classmethod
    def variant(cls, name: str, description: str = "", **defaults: Any) -> type[Solver]:
        """The same implementation registered under another name, with other parameter defaults.

        Assign the result to a module-level name of a plugin module: the registry registers it like
        any class defined there. Its runs are told apart from the original's by their name.

        Raises:
            ValueError: a parameter the solver does not declare, or a bad value.
        """
        known = {p.name: p for p in cls.params}
        params = list(cls.params)
        for key, value in defaults.items():
            if key not in known:
                raise ValueError(f"solver {cls.name!r} has no parameter {key!r}; it has {sorted(known)}")
            params[params.index(known[key])] = replace(known[key], default=known[key].convert(value))
        module = sys._getframe(1).f_globals.get("__name__", cls.__module__)
        attrs = {
            "name": name,
            "params": tuple(params),
            "__module__": module,
            "description": description or f"{cls.name} with " + ", ".join(f"{k}={v!r}" for k, v in defaults.items()),
            "__doc__": cls.__doc__,
            "__qualname__": f"{cls.__qualname__}[{name}]",
        }
        return type(f"{cls.__name__}Variant", (cls,), attrs)
