"""The plugin layer: everything between the harness and a solver.

- :mod:`.solver`: the contract (:class:`~.solver.Solver`, :class:`~.solver.Param`,
  :class:`~.solver.SolveResult`, :class:`~.solver.Context`; public as ``from schedbench import ...``)
  and its optional capabilities (``model_formats``/``export_model``, ``variant``);
- :mod:`.declarations`: the checks of what a plugin declares, shared by the next two;
- :mod:`.registry`: every solver by name (built-ins, entry points, ``--solvers-dir``), and what the
  harness derives from the solvers' ``requires`` (preloaded modules, recorded versions);
- :mod:`.command`: programs in any language, declared in TOML, run as solvers;
- :mod:`.contract`: the contract tests (``schedbench solvers test``, ``tests/test_contract.py``);
- :mod:`.export_model`: a solver's model written as a file (``schedbench export-model``).

Imports run one way: ``registry`` -> ``command`` -> ``declarations`` -> ``solver``; nothing here
imports the runner or a plugin module.
"""
