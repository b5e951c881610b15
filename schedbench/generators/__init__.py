"""Instance generators: spec + seed -> byte-identical instance (see :mod:`.core`)."""

from schedbench.generators.core import VERSION, generate, generate_planted, param_specs

__all__ = ["VERSION", "generate", "generate_planted", "param_specs"]
