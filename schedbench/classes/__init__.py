"""The built-in problem classes, one module each; importing a module registers its class.

Each module builds one :class:`~schedbench.instances.problems.ProblemClass` (objectives, class
parameters, solution body key and schema, validator, bounds, generator parameters, example and
random-feasible baseline) and passes it to :func:`~schedbench.instances.problems.register`. The
registry :data:`~schedbench.instances.problems.PROBLEM_CLASSES` imports the modules listed in
:data:`~schedbench.instances.problems.BUILTIN_CLASS_MODULES` the first time it is read, so code
that needs the classes reads the registry and never imports this package.

A new class touches at most four files: its module here (``schedbench/classes/<name>.py``), its
validator module (``schedbench/validator/<name>.py``: rules, objective and bounds), one line in
``BUILTIN_CLASS_MODULES`` (``schedbench/instances/problems.py``) and its section in
``docs/formats.md``.
"""
