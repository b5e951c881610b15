"""Write the model a solver builds for an instance as a file (MPS, CPLEX-LP...).

Exporting a model is an optional capability of the solver contract: a solver declares the
formats it writes in ``model_formats`` and implements
:meth:`~schedbench.plugins.solver.Solver.export_model`. :func:`export_model` asks the registry for
the solver (default :data:`DEFAULT_SOLVER`, ``ilp-highs``: placement ``min-cost``/``max-weight``/
``min-gpus`` with gangs, batch ``makespan`` (R||Cmax) and the time-indexed weighted sums), checks
the capability and calls it; it imports no plugin module itself. The command is ``schedbench
export-model`` (:mod:`schedbench.cli.export_model`); :meth:`Registry.exporters
<schedbench.plugins.registry.Registry.exporters>` lists the solvers that can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from schedbench.instances.model import Instance

__all__ = ["DEFAULT_SOLVER", "FORMATS", "export_model"]

#: The formats the ``export-model`` command offers (a solver writes those of its ``model_formats``).
FORMATS = ("mps", "lp")
#: The solver whose model is exported when none is named.
DEFAULT_SOLVER = "ilp-highs"


def export_model(
    instance: Instance,
    path: str | Path,
    fmt: str = "mps",
    *,
    solver: str = DEFAULT_SOLVER,
    params: Mapping[str, Any] | None = None,
    solvers_dirs: Sequence[str | Path] = (),
) -> Path:
    """Write the model ``solver`` builds for ``instance`` with ``params`` (declared defaults filled
    in) to ``path`` in ``fmt``; return the path written.

    Raises:
        KeyError: an unknown solver (the message lists the known ones).
        ImportError: the solver is unavailable here (a missing module: the reason is given).
        ValueError: a solver that cannot export in ``fmt`` (the message names those that can), bad
            parameters, or an instance the model does not cover (the solver's reason).
        RuntimeError, OSError: the file could not be written.
    """
    from schedbench.plugins.registry import get_registry

    registry = get_registry(solvers_dirs)
    entry = registry.get(solver)
    if fmt not in entry.model_formats:
        able = ", ".join(f"{e.name} ({'/'.join(e.model_formats)})" for e in registry.exporters(fmt)) or "none"
        what = f"writes {'/'.join(entry.model_formats)}" if entry.model_formats else "exports no model"
        raise ValueError(f"format {fmt!r}: solver {solver!r} {what}; solvers exporting {fmt}: {able}")
    if not entry.available:
        raise ImportError(f"solver {solver!r} is unavailable: {entry.reason}")
    cls = entry.load()
    resolved = cls.resolve_params(params or {})
    return cls().export_model(instance, Path(path), fmt, resolved)
