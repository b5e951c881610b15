"""Building, writing and loading the catalogue.

The shipped catalogue (``schedbench/data/catalogue.json``) is exactly
``dumps_canonical(build_catalogue(gavel_file, lambda_dir).to_dict())`` for the published files
(``schedbench catalogue build --gavel ../shared/traces/gavel_simulation_throughputs.json
--lambda-dir ../shared/traces -o schedbench/data/catalogue.json``); a test checks it byte for byte.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from importlib import resources
from pathlib import Path

from schedbench import jsonio
from schedbench.catalogue import derive, gavel, lambdalabs, memory, plausibility
from schedbench.catalogue.model import Catalogue, Source
from schedbench.errors import InputError

#: Version of the shipped catalogue's data (bump when the figures or the rules change).
CATALOGUE_VERSION = "2.0.0"


def build_catalogue(gavel_file: str | Path, lambda_dir: str | Path, version: str = CATALOGUE_VERSION) -> Catalogue:
    """The full catalogue: Gavel's and Lambda's measured figures plus the derivation rules' estimates.

    ``lambda_dir`` holds the four Lambda tables (see :func:`schedbench.catalogue.lambdalabs.find_tables`).

    Raises:
        InputError: a missing or malformed source file.
    """
    g = gavel.read_gavel(gavel_file).catalogue
    lam = lambdalabs.read_lambda(list(lambdalabs.find_tables(lambda_dir))).catalogue
    merged = g.merge(lam, version=version)
    merged = replace(
        merged,
        sources={
            **merged.sources,
            memory.SOURCE_KEY: Source(
                memory.SOURCE_KEY,
                memory.SOURCE_CITATION,
                "schedbench/catalogue/memory.py",
                "formula and constants of this project; the cited figures are facts from their papers",
            ),
        },
    )
    # plausibility checks before the rules (no derived figure inherits a suspect input) and after
    checked, _ = plausibility.mark_suspect(merged)
    return plausibility.mark_suspect(derive.apply_rules(checked))[0]


def dumps(catalogue: Catalogue) -> bytes:
    """The catalogue's canonical JSON bytes."""
    return jsonio.dumps_canonical(catalogue.to_dict())


def write_catalogue(catalogue: Catalogue, path: str | Path) -> None:
    """Write the catalogue's canonical JSON (atomically; gzip when the name ends in ``.gz``)."""
    jsonio.write_bytes(path, dumps(catalogue))


def shipped_path() -> Path:
    """Path of the catalogue shipped in the package."""
    return Path(str(resources.files("schedbench") / "data" / "catalogue.json"))


@functools.lru_cache(maxsize=1)
def _shipped() -> Catalogue:
    path = shipped_path()
    return Catalogue.from_dict(jsonio.load(path), str(path))


def load_catalogue(path: str | Path | None = None, *, layers: bool = True, user: bool = True) -> Catalogue:
    """The shipped catalogue (read once, then cached), or the catalogue file ``path`` (read strictly).

    With no ``path`` and ``layers`` (the default), the shipped catalogue is extended by the project's
    own ``schedbench profile`` measurements (``schedbench/data/profiled.json``) and, with ``user``,
    the user's catalogue (``schedbench catalogue merge``; :mod:`schedbench.catalogue.layers`,
    docs/profile.md); ``layers=False`` gives the shipped file alone.

    Raises:
        InputError: ``path`` is missing or not a valid catalogue (names the file and the JSON path).
    """
    if path is None:
        if not layers:
            return _shipped()
        from schedbench.catalogue.layers import with_layers

        return with_layers(_shipped(), user=user)
    doc = jsonio.load(path)
    return Catalogue.from_dict(doc, str(path))


__all__ = [
    "CATALOGUE_VERSION",
    "InputError",
    "build_catalogue",
    "dumps",
    "load_catalogue",
    "shipped_path",
    "write_catalogue",
]
