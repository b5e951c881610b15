"""The report of a store: :func:`build_report` summarises it, :func:`render` writes it as text.

The command ``schedbench report`` (which also prints the ``table`` format) is
:func:`schedbench.cli.report.report`.
"""

from __future__ import annotations

from pathlib import Path

from schedbench.report.render import RENDERERS
from schedbench.report.stats import DEFAULT_PENALTY, DEFAULT_SHIFT
from schedbench.report.summary import Summary, summarize
from schedbench.store.core import StoreError

#: Output formats of the report: ``table`` (a rich table) and the text formats of :func:`render`
#: (:data:`~schedbench.report.render.RENDERERS`: a new format is one function there).
FORMATS = ("table", *RENDERERS)


def build_report(
    store: str | Path, *, shift: float = DEFAULT_SHIFT, penalty: float = DEFAULT_PENALTY, campaign: str | None = None
) -> Summary:
    """The summary of a store or of its parquet/CSV export (of one campaign).

    Raises:
        StoreError: a missing file, not a store or export, an unknown campaign, or a bad shift or penalty.
    """
    from schedbench.store.views import read_runs

    _check_parameters(shift, penalty)
    frame = read_runs(store, campaign=campaign)
    try:
        return summarize(frame, shift=shift, penalty=penalty, campaign=campaign)
    except ValueError as exc:  # e.g. a non-positive time limit stored by hand
        raise StoreError(str(store), "runs the report can summarise", str(exc)) from None


def _check_parameters(shift: float, penalty: float) -> None:
    if not (shift == shift and 0.0 <= shift < float("inf")):
        raise StoreError("--shift", "a finite number >= 0 (seconds)", repr(shift))
    if not (penalty == penalty and 1.0 <= penalty < float("inf")):
        raise StoreError("--timeout-penalty", "a finite number >= 1 (a factor of the time limit)", repr(penalty))


def render(summary: Summary, fmt: str) -> str:
    """The summary as Markdown, CSV, LaTeX or strict JSON text (``table`` is :func:`~schedbench.report.render.to_rich`).

    Raises:
        StoreError: an unknown format.
    """
    renderer = RENDERERS.get(fmt)
    if renderer is not None:
        return renderer(summary)
    raise StoreError("--format", f"one of {list(FORMATS)}", repr(fmt))
