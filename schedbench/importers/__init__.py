"""Importers for published benchmark formats: each file becomes one or more checked instances.

``IMPORTERS`` maps a format name to an :class:`Importer`; the CLI's ``schedbench import FORMAT
PATH... -o DIR`` is ``for inst in IMPORTERS[FORMAT].read(path, **options): save(inst, ...)``.

=============  =========================================  ======================  =================
format         files                                      class / objective       options
=============  =========================================  ======================  =================
``orlib-gap``  OR-Library GAP (``P`` problems a file)      placement / min-cost    sense, known
``gap``        Yagiura/fontanf GAP (one problem a file)    placement / min-cost    sense, known
``rcmax``      Fanjul-Peyro & Ruiz R||Cmax                 batch / makespan        known
``vbp``        VPSolver vector bin packing                 placement / min-gpus    known
=============  =========================================  ======================  =================

Every importer reads the file as a token stream with numpy, raises
:class:`~schedbench.errors.InputError` (file, token and line, expected, found) on malformed input,
builds instances with :func:`~schedbench.instances.make_instance` (so they pass the loader's
checks), and by default attaches the published optimum / bounds (``metadata["known"]``) when the
set's values file sits where the published collection puts it (see each ``known_values``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schedbench.importers import gap, rcmax, vbp
from schedbench.importers.gap import read_gap_solution
from schedbench.instances.model import Instance


@dataclass(frozen=True)
class Option:
    """A keyword option of an importer: name, help text and, when restricted, its allowed values."""

    name: str
    help: str
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Importer:
    """One input format.

    Attributes:
        name: the format name (``IMPORTERS`` key, CLI ``FORMAT``).
        description: one line.
        problem_class: class of the instances it produces.
        objective: their objective.
        citation: where the format and its instance sets come from.
        options: the keyword options :meth:`read` accepts.
    """

    name: str
    description: str
    problem_class: str
    objective: str
    citation: str
    options: tuple[Option, ...]
    reader: Callable[..., list[Instance]] = field(repr=False, compare=False)
    lookup: Callable[..., dict[str, dict[str, Any]] | None] = field(repr=False, compare=False)

    def _check(self, options: dict[str, Any], allowed: set[str]) -> None:
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise ValueError(f"format {self.name!r} takes no option(s) {unknown}; it accepts {sorted(allowed)}")
        for opt in self.options:
            if opt.choices and opt.name in options and options[opt.name] not in opt.choices:
                raise ValueError(
                    f"format {self.name!r}: option {opt.name} must be one of {list(opt.choices)}, "
                    f"not {options[opt.name]!r}"
                )

    def read(self, path: str | Path, **options: Any) -> list[Instance]:
        """Import a file: the checked instances it holds, in file order.

        Raises:
            InputError: the file is missing, unreadable or malformed.
            ValueError: an option this format does not have, or a bad option value.
        """
        self._check(options, {o.name for o in self.options})
        return self.reader(Path(path), **options)

    def known_values(self, path: str | Path, **options: Any) -> dict[str, dict[str, Any]] | None:
        """The published values found beside ``path``, by instance name (None when there are none).

        Takes the same options as :meth:`read` except ``known``."""
        self._check(options, {o.name for o in self.options} - {"known"})
        return self.lookup(Path(path), **options)


_SENSE = Option(
    "sense", "GAP objective sense: 'min' (default) or 'max' (maximisation variant, costs negated)", ("min", "max")
)
_KNOWN = Option(
    "known",
    "True (default): attach the published values found beside the file; False: none; "
    "or a mapping instance name -> {optimum, best_known, lower_bound, upper_bound, source}",
)


IMPORTERS: dict[str, Importer] = {
    "orlib-gap": Importer(
        "orlib-gap",
        "OR-Library generalized assignment file (several problems a file: P, then m n, costs, uses, capacities)",
        "placement",
        "min-cost",
        gap.CITATION_ORLIB,
        (_SENSE, _KNOWN),
        gap.read_orlib_gap,
        gap.orlib_known_values,
    ),
    "gap": Importer(
        "gap",
        "Yagiura/fontanf generalized assignment file (one problem: m n, costs, uses, capacities)",
        "placement",
        "min-cost",
        gap.CITATION_YAGIURA,
        (_SENSE, _KNOWN),
        gap.read_gap,
        gap.yagiura_known_values,
    ),
    "rcmax": Importer(
        "rcmax",
        "Fanjul-Peyro & Ruiz unrelated parallel machines file (n m 1; m; per job: machine, time pairs)",
        "batch",
        "makespan",
        rcmax.CITATION,
        (_KNOWN,),
        rcmax.read_rcmax,
        rcmax.known_values,
    ),
    "vbp": Importer(
        "vbp",
        "VPSolver vector bin packing file (d; capacities; n; per item line: d weights, multiplicity)",
        "placement",
        "min-gpus",
        vbp.CITATION,
        (_KNOWN,),
        vbp.read_vbp,
        vbp.known_values,
    ),
}


def read(fmt: str, path: str | Path, **options: Any) -> list[Instance]:
    """``IMPORTERS[fmt].read(path, **options)``, with a clear error for an unknown format."""
    importer = IMPORTERS.get(fmt)
    if importer is None:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(IMPORTERS)}")
    return importer.read(path, **options)


__all__ = ["IMPORTERS", "Importer", "Option", "read", "read_gap_solution"]
