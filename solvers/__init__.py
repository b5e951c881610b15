"""schedbench's built-in solver plugins (installed as the package ``schedbench_solvers``).

One module per solver family; the registry (:mod:`schedbench.plugins.registry`) imports every module here
whose name does not start with ``_`` and registers each concrete :class:`schedbench.Solver`
subclass it defines. A module whose import fails (a missing optional dependency) is listed as
unavailable with the reason; it never breaks the others. Modules starting with ``_`` are shared
helpers.
"""
