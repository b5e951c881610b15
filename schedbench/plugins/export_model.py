"""Write the ``ilp-highs`` MIP model of an instance as an MPS or CPLEX-LP file (via highspy).

``export_model(instance, path, fmt)`` builds the same model ``ilp-highs`` solves — placement
``min-cost``/``max-weight``/``min-gpus`` (gangs included), batch ``makespan`` (R||Cmax: gang 1, every
release 0), batch ``weighted-completion``/``weighted-tardiness`` (the time-indexed model, gang 1,
period chosen as ``ilp-highs`` chooses it by default, or ``period``) — and writes it with
``Highs.writeModel``; ``export_model_command`` is the body of
``schedbench export --format mps|lp INSTANCE -o FILE``. Column names are HiGHS's defaults
(``c0, c1, ...``): the meaning of each column is ``schedbench_solvers._highs.Model``'s.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from schedbench.instances.model import Instance

FORMATS = ("mps", "lp")
SUPPORTED = {"placement": ("min-cost", "max-weight", "min-gpus"),
             "batch": ("makespan", "weighted-completion", "weighted-tardiness")}


def export_model(instance: Instance, path: str | Path, fmt: str = "mps", *, period: float | None = None) -> Path:
    """Write the ``ilp-highs`` model of ``instance`` to ``path`` in ``fmt`` (``mps`` or ``lp``).

    Raises:
        ValueError: unknown format, or an instance the model does not cover (the reason is given).
        ImportError: highspy is not installed.
    """
    from schedbench_solvers import _highs as hx

    if fmt not in FORMATS:
        raise ValueError(f"format: expected one of {list(FORMATS)}, got {fmt!r}")
    problem = instance.problem
    if problem.objective not in SUPPORTED.get(problem.cls, ()):
        raise ValueError(f"no MIP model for {problem.cls}/{problem.objective}; "
                         f"supported: {', '.join(f'{c}/{o}' for c, os in SUPPORTED.items() for o in os)}")
    reason = hx.unsupported_reason(instance, "ilp")
    if reason is not None:
        raise ValueError(reason)
    model = hx.build(instance, integer=True, period=period)  # ValueError when the time-indexed model cannot fit
    h = hx.new_highs(time_limit=None, threads=1, seed=0)
    hx.pass_model(h, model, integer=True)
    path = Path(path)
    # HiGHS picks the format from the file's extension: write under the right one, then move
    with tempfile.TemporaryDirectory() as tmp:
        tmp_file = Path(tmp) / f"model.{fmt}"
        status = h.writeModel(str(tmp_file))
        if str(status) not in ("HighsStatus.kOk", "HighsStatus.kWarning") or not tmp_file.exists():
            raise RuntimeError(f"HiGHS could not write the model: {status}")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(tmp_file), str(path))
    return path


def export_model_command(instance: Path, fmt: str, output: Path) -> int:
    """``schedbench export-model``: read ``instance``, write its model to ``output``; exit code."""
    from schedbench.instances import load

    inst = load(instance)  # a malformed file raises InputError: the CLI guard reports it (exit 2)
    try:
        export_model(inst, output, fmt)
    except ImportError as exc:
        print(f"export: highspy is needed ({exc})", file=sys.stderr)
        return 2
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {output} ({fmt})")
    return 0
