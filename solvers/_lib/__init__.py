"""The built-in solvers' internal library: building blocks that several plugins share.

Plugins import from here, never from each other (a plugin module is registered, a library module
is not: the registry skips names starting with ``_``). One module per noun:

* :mod:`.documents`: solution documents (placement, batch).
* :mod:`.packing`: placement job orders and bin packing (first fit, best fit, gang selection).
* :mod:`.assignment`: regret constructions for the GAP.
* :mod:`.schedule`: batch job orders, list scheduling, left shifting.
* :mod:`.objectives`: objective values of answers, computed by the validator's functions.
* :mod:`.mip`: time margins and reported numbers of the MIP-based plugins.

Gang groups, usable types and the fit tolerance come from :mod:`schedbench.instances.gangs`; GPU
prices from :func:`schedbench.validator.placement.gpu_type_prices` (the one pricing rule). Nothing
here modifies an instance.
"""
