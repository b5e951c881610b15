"""A packaged, versioned catalogue of deep-learning training job profiles, every figure with its provenance.

Typical use (instance generators)::

    from schedbench.catalogue import load_catalogue

    cat = load_catalogue()                        # the shipped catalogue (cached)
    for jt in cat.job_types_in("cnn"):            # or cat.job_types.values()
        fig = cat.throughput(jt.key, "V100", 1)    # Figure | None, in jt.unit
        mem = cat.memory(jt.key, "V100")          # GiB per GPU, Figure | None
        share = cat.compute_share(jt.key, "V100") # Figure | None
    cat.gpu_memory_gib("A100-SXM4-80GB")          # capacity of a GPU type

Every :class:`Figure` has ``.value``, ``.unit`` and ``.provenance`` (``kind`` measured / specified /
derived, ``source`` key into ``cat.sources``, ``detail``, ``hardware``, ``method``, ``rule``).
Modules: :mod:`.model` (data model, JSON), :mod:`.gpus` (GPU ids, datasheets), :mod:`.gavel` and
:mod:`.lambdalabs` (importers), :mod:`.derive` (derivation rules), :mod:`.build` (build, load),
:mod:`.layers` (the shipped, profiled and user layers and the figure-level merge); the
``schedbench catalogue`` commands are in :mod:`schedbench.cli.catalogue`. See docs/catalogue.md.
"""

from __future__ import annotations

from schedbench.catalogue.build import CATALOGUE_VERSION, build_catalogue, load_catalogue, write_catalogue
from schedbench.catalogue.model import (
    CONSOLIDATED,
    DERIVED,
    FAMILIES,
    MEASURED,
    SCHEMA,
    SPECIFIED,
    UNCONSOLIDATED,
    Catalogue,
    Colocation,
    Figure,
    GpuSpec,
    JobType,
    Provenance,
    Source,
)

__all__ = [
    "CATALOGUE_VERSION",
    "CONSOLIDATED",
    "DERIVED",
    "FAMILIES",
    "MEASURED",
    "SCHEMA",
    "SPECIFIED",
    "UNCONSOLIDATED",
    "Catalogue",
    "Colocation",
    "Figure",
    "GpuSpec",
    "JobType",
    "Provenance",
    "Source",
    "build_catalogue",
    "load_catalogue",
    "write_catalogue",
]
