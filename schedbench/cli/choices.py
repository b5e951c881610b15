"""Choices of CLI options as Enums, so that ``--help`` lists them and shell completion offers them.

Kept free of heavy imports (the CLI imports it at start-up). Each module that implements a command
keeps its own tuple of accepted values and checks them itself (the Python API takes plain strings);
``tests/test_ci_commands.py`` checks that these Enums list exactly those tuples.
"""

from __future__ import annotations

from enum import StrEnum


class ReportFormat(StrEnum):
    """``schedbench report --format`` (:data:`schedbench.report.FORMATS`)."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    latex = "latex"
    json = "json"


class ExportFormat(StrEnum):
    """``schedbench export --format``: a result set (:data:`schedbench.store.export.FORMATS`)."""

    parquet = "parquet"
    csv = "csv"


class ModelFormat(StrEnum):
    """``schedbench export-model --format``: an instance's ILP model
    (:data:`schedbench.plugins.export_model.FORMATS`)."""

    mps = "mps"
    lp = "lp"


class Executor(StrEnum):
    """``schedbench run --executor``."""

    local = "local"
    dask = "dask"
