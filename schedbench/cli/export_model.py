"""``schedbench export-model INSTANCE --format mps|lp [-o FILE] [--solver NAME]``: the model a solver
builds for an instance, written for any other solver (:func:`schedbench.plugins.export_model.export_model`).

Exit codes: 0 written; 1 the model cannot be built or written for this instance (the reason is
printed); 2 bad input (a malformed instance, an unknown solver, a solver unavailable here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schedbench.cli.choices import ModelFormat
from schedbench.cli.console import err, guarded, out
from schedbench.plugins.export_model import DEFAULT_SOLVER


def export_model_command(
    instance: Path, fmt: str, output: Path, *, solver: str = DEFAULT_SOLVER, solvers_dirs: tuple[str, ...] = ()
) -> int:
    """Read ``instance`` and write ``solver``'s model of it in ``fmt`` to ``output``; returns the exit
    code (2 for a solver unavailable here, 1 for a format the solver does not write, an instance its
    model declines or a write that failed, 0 written).

    Raises:
        InputError: a malformed instance file.
        KeyError: an unknown solver.
    """
    from schedbench.instances import load
    from schedbench.plugins.export_model import export_model as write_model

    inst = load(instance)
    try:
        write_model(inst, output, fmt, solver=solver, solvers_dirs=solvers_dirs)
    except ImportError as exc:
        err.print(f"export-model: {exc}")
        return 2
    except (ValueError, OSError, RuntimeError) as exc:
        err.print(f"export-model: {exc}")
        return 1
    out.print(f"wrote {output} ({fmt})")
    return 0


@guarded(KeyError)
def export_model(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    fmt: Annotated[ModelFormat, typer.Option("--format", help="mps or lp.")] = ModelFormat.mps,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Model file (default: INSTANCE with the format's suffix).")
    ] = None,
    solver: Annotated[
        str, typer.Option(help="The solver whose model is written (see `schedbench solvers list`).")
    ] = DEFAULT_SOLVER,
    solvers_dir: Annotated[list[Path] | None, typer.Option("--solvers-dir", help="Extra plugin folder.")] = None,
) -> int:
    """Write the ILP model a solver builds for an instance (default ilp-highs) as MPS or LP."""
    dirs = tuple(str(Path(d).resolve()) for d in solvers_dir or ())
    return export_model_command(
        instance, fmt.value, output or instance.with_suffix(f".{fmt.value}"), solver=solver, solvers_dirs=dirs
    )
