"""``schedbench export-model INSTANCE --format mps|lp [-o FILE]``: an instance's ILP model, as ilp-highs builds it.

Exit codes: 0 written; 1 the model cannot be built for this instance (the reason is printed); 2 bad
input (a malformed instance, highspy not installed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schedbench.cli.choices import ModelFormat
from schedbench.cli.console import err, guarded, out


def export_model_command(instance: Path, fmt: str, output: Path) -> int:
    """Read ``instance`` and write its model in ``fmt`` to ``output``; returns the exit code (2 without
    highspy, 1 for an unknown format or an instance the model declines, 0 written).

    Raises:
        InputError: a malformed instance file.
    """
    from schedbench.instances import load
    from schedbench.plugins.export_model import export_model as write_model

    inst = load(instance)
    try:
        write_model(inst, output, fmt)
    except ImportError as exc:
        err.print(f"export: highspy is needed ({exc})")
        return 2
    except (ValueError, OSError, RuntimeError) as exc:
        err.print(f"export: {exc}")
        return 1
    out.print(f"wrote {output} ({fmt})")
    return 0


@guarded()
def export_model(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    fmt: Annotated[ModelFormat, typer.Option("--format", help="mps or lp.")] = ModelFormat.mps,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Model file (default: INSTANCE with the "
                                                "format's suffix).")] = None,
) -> int:
    """Write an instance's ILP model as MPS or LP (the model ilp-highs solves), for any other solver."""
    return export_model_command(instance, fmt.value, output or instance.with_suffix(f".{fmt.value}"))
