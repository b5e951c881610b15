"""Instance generators: spec + seed -> byte-identical instance (see :mod:`.core`).

The names below are imported from :mod:`.core` on first use, so that importing
:mod:`schedbench.generators.spec` (the problem classes declare their generator parameters with it)
does not load the catalogue and the trace fits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schedbench.generators.core import VERSION, generate, generate_planted, param_specs

__all__ = ["VERSION", "generate", "generate_planted", "param_specs"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from schedbench.generators import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
