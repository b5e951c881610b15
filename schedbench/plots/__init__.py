"""Figures of result sets (``schedbench plot``): the numbers in :mod:`~schedbench.plots.data` (pure,
tested), the drawing in :mod:`~schedbench.plots.figures` (matplotlib, extra ``[plot]``, headless
Agg), the sources in :mod:`~schedbench.plots.source` (a store or its export), one colour per solver
in :mod:`~schedbench.plots.colors`, one figure of a result set in :mod:`~schedbench.plots.make` and the
command in :mod:`~schedbench.cli.plot` (docs/outputs.md)."""
