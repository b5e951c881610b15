"""The harness: run identity, isolated execution under hard limits, local and Dask executors, campaigns.

:mod:`.record` (what a run is and produced), :mod:`.worker` and :mod:`.execute` (one run in a
forked child of a preloaded worker, with wall-clock, memory and thread limits), :mod:`.pool`
(parallel local execution), :mod:`.dask_executor`, :mod:`.campaign` (specs, planning, resume) and
:mod:`.env` (the environment recorded with results).
"""
