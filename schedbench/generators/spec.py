"""Generator specs: validated parameters, canonical form, and the seed derivation.

A spec is a flat mapping of named parameters (from TOML, from ``--param key=value`` or from a
named preset). :func:`parse_params` checks every name and value against the generator's declared
:class:`ParamSpec` list and fills defaults, so the *canonical parameters* (all of them, defaults
included) identify the instance together with the seed. :func:`seed_sequence` derives the numpy
``SeedSequence`` from a hash of (generator name, version, canonical parameters, seed): the same
spec and seed give the same streams on any machine, and nothing reads the wall clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from schedbench.errors import InputError


@dataclass(frozen=True)
class ParamSpec:
    """One generator parameter.

    Attributes:
        name: the key in specs and ``--param``.
        default: the value used when the spec leaves it out.
        help: one line for ``schedbench generate --help`` and the docs.
        check: validates and normalises a value, raising ValueError with what was expected.
    """

    name: str
    default: Any
    help: str
    check: Callable[[Any], Any]


def positive_int(value: Any) -> int:
    """An integer >= 1 (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("a positive integer")
    return value


def non_negative_int(value: Any) -> int:
    """An integer >= 0 (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("a non-negative integer")
    return value


def positive_number(value: Any) -> float:
    """A number > 0 (not NaN, booleans refused), as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value:
        raise ValueError("a positive number")
    return float(value)


def boolean(value: Any) -> bool:
    """``true`` or ``false`` (no other truthy values)."""
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def optional_positive(value: Any) -> float | None:
    """``null`` or a positive number."""
    return None if value is None else positive_number(value)


def fraction_range(value: Any) -> list[float] | None:
    """``null`` or ``[lo, hi]`` with 0 < lo <= hi."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        or not 0 < value[0] <= value[1]
    ):
        raise ValueError("null or [lo, hi] with 0 < lo <= hi")
    return [float(value[0]), float(value[1])]


def one_of(*choices: str) -> Callable[[Any], str]:
    """A check accepting exactly the given strings."""

    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"one of {list(choices)}")
        return value

    return check


def weights_map(value: Any) -> dict[str, float] | str:
    """A preset name (string) or a mapping name -> positive weight."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value:
        raise ValueError("a name or a non-empty mapping of names to positive weights")
    out = {}
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ValueError(f"a positive weight for {k!r}")
        out[str(k)] = float(v)
    return out


def pmf(value: Any) -> dict[str, float] | str:
    """A named distribution (string) or a mapping value -> probability weight."""
    return weights_map(value)


#: Arrival parameters shared by the classes whose generators draw arrivals over time (batch, online).
DIURNAL = ParamSpec("diurnal", True, "arrivals follow the Philly diurnal and weekly profile", boolean)
ARRIVALS = ParamSpec(
    "arrivals",
    "fit",
    "fit: Poisson with the fitted Philly profile (see diurnal); replay: the "
    "Philly trace's hourly arrival counts replayed from a random hour, bursts kept",
    one_of("fit", "replay"),
)


def parse_cli_value(text: str) -> Any:
    """``--param key=value`` values: JSON when it parses (numbers, lists, objects, true/null), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(
    generator: str, specs: tuple[ParamSpec, ...], given: Mapping[str, Any], source: str = "<params>"
) -> dict[str, Any]:
    """Check ``given`` against ``specs`` and fill defaults.

    Raises:
        InputError: an unknown parameter (naming the known ones) or a bad value (naming what was
            expected), with ``source`` as the file name.
    """
    known = {p.name: p for p in specs}
    out: dict[str, Any] = {}
    for key, value in given.items():
        spec = known.get(key)
        if spec is None:
            raise InputError(
                source,
                f"params.{key}",
                f"a parameter of generator {generator!r}: {sorted(known)}",
                f"unknown parameter {key!r}",
            )
        try:
            out[key] = spec.check(value)
        except ValueError as exc:
            raise InputError(source, f"params.{key}", str(exc), repr(value)) from None
    for spec in specs:
        if spec.name not in out:
            out[spec.name] = spec.check(spec.default) if spec.default is not None else None
    return out


def seed_sequence(generator: str, version: str, params: Mapping[str, Any], seed: int) -> np.random.SeedSequence:
    """The root SeedSequence of one generated instance (hash of its identity; no wall clock)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError("seed must be a non-negative integer")
    ident = json.dumps(
        {"generator": generator, "version": version, "params": params, "seed": seed},
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(ident.encode()).digest()
    return np.random.SeedSequence(int.from_bytes(digest[:16], "little"))


def streams(root: np.random.SeedSequence, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """Independent named generators spawned from the root, in a fixed order."""
    return {name: np.random.default_rng(child) for name, child in zip(names, root.spawn(len(names)), strict=True)}
