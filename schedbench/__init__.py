"""schedbench: benchmark suite and solver-comparison harness for scheduling DL jobs on GPU clusters."""

__version__ = "0.1.0"

# the module schedbench.runs (RunTask, RunRecord) is loaded first, so that importing it later never rebinds
# the name ``runs``: in this namespace it is the API function :func:`schedbench.api.runs`
import schedbench.runs as _runs_module  # noqa: F401
from schedbench.api import generate, load, run, runs, solve, validate
from schedbench.plugins.solver import Context, Param, Solver, SolveResult

__all__ = [
    "Context",
    "Param",
    "SolveResult",
    "Solver",
    "__version__",
    "generate",
    "load",
    "run",
    "runs",
    "solve",
    "validate",
]
