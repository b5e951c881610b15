"""The harness: isolated execution under hard limits, grading, local and Dask executors, campaigns.

What a run is and produced lives in :mod:`schedbench.runs`, how answers are scored in
:mod:`schedbench.scoring`. Here: :mod:`.worker` and :mod:`.execute` (one run in a forked child of a
preloaded worker, with wall-clock, memory and thread limits, returning a :class:`.grade.Measurement`),
:mod:`.grade` (the pure grading of a measurement into an :class:`.grade.Outcome`), :mod:`.cache`
(registries, solver classes and instances, cached alike in the caller and the worker), :mod:`.pool`
(parallel local execution), :mod:`.dask_executor`, :mod:`.campaign` (specs, planning, resume) and
:mod:`.env` (the environment recorded with results).
"""
