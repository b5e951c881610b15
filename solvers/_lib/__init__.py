"""The built-in solvers' internal library: building blocks that several plugins share.

Plugins import from here, never from each other (a plugin module is registered, a library module
is not: the registry skips names starting with ``_``). One module per noun:

* :mod:`.documents`: solution documents (placement, batch).
* :mod:`.packing`: placement job orders and bin packing (first fit, best fit, gang selection), and
  the packing heuristics' answer with its repair passes.
* :mod:`.assignment`: regret constructions for the GAP.
* :mod:`.schedule`: batch job orders, list scheduling (and the list heuristics' answer), left shifting.
* :mod:`.objectives`: objective values of answers, computed by the validator's functions.
* :mod:`.mip`: time margins and reported numbers of the MIP-based plugins.

Gang groups, usable types and the fit tolerance come from :mod:`schedbench.instances.gangs`.

Pricing (``min-gpus`` with ``measure=cost``): one rule, the validator's
:func:`schedbench.validator.placement.gpu_type_prices`: a GPU type's ``cost_per_hour``, NaN where the
instance gives none, so an answer using such a GPU is worth NaN, as the validator grades it (instance
files cannot lack a price there: the loader refuses them; only instances built in memory can).
Objective values computed here (:mod:`.objectives`) are then NaN too; a solver that needs a number
to guide or rank its search (``ilp-highs``'s cost vector, ``ga``'s fitness) counts a missing price as
0 (the answer's value stays the validator's), and ``cpsat``, whose integer model cannot, declines
such instances.
Nothing here modifies an instance.
"""
