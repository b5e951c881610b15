"""Measured GPU-cluster traces: strict readers, distribution fits, samplers and trace replay.

* :mod:`~schedbench.traces.readers`: the Philly, Gavel, Alibaba openb and Acme CSV formats.
* :mod:`~schedbench.traces.fit`: one deterministic fit per KIND (``arrival``, ``duration``, ``gpus``,
  ``fractional``, ``outcomes``); ``schedbench traces fit KIND FILE``.
* :mod:`~schedbench.traces.models`: vectorised samplers built from the shipped fits
  (``schedbench/data/trace_fits.json``): :class:`DurationModel`, :class:`GangModel`,
  :class:`ArrivalModel`, :class:`FractionModel`, :func:`load_fits`.
* :mod:`~schedbench.traces.replay`: ``TRACE_IMPORTERS`` turning a Philly window into an ``online``
  instance and an Alibaba openb pod list into a ``placement`` instance.

See ``docs/traces.md`` for the methods, the shipped numbers and the citations.
"""

from __future__ import annotations

from schedbench.traces.models import ArrivalModel, DurationModel, FractionModel, GangModel, load_fits

__all__ = ["ArrivalModel", "DurationModel", "FractionModel", "GangModel", "load_fits"]
