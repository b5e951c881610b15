"""Instance generators: spec + seed -> byte-identical instance (see :mod:`.core`)."""

from schedbench.generators.core import CLASS_PARAMS, VERSION, generate, generate_planted, param_specs

__all__ = ["CLASS_PARAMS", "VERSION", "generate", "generate_planted", "param_specs"]
