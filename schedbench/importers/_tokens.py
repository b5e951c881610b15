"""Reading helpers shared by the importers: integer token streams and published-values tables.

The published benchmark formats (OR-Library, VPSolver, Fanjul-Peyro & Ruiz) are streams of
integers in which line breaks carry no meaning. :class:`Tokens` converts the whole file with one
numpy call and hands out blocks of it; only when something is wrong does it look at single tokens,
so that every :class:`~schedbench.errors.InputError` names the file, the token (1-based) and its
line, what was expected and what was found.

:func:`read_table` reads the CSV/TSV files of published optima and bounds that sit beside the
instance sets (cached, since one table serves hundreds of instance files); :func:`known_entry`
turns a row's numbers into a ``metadata["known"]`` dict.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from schedbench import jsonio
from schedbench.errors import InputError

#: Bytes an integer token stream may hold: ASCII digits, signs and whitespace.
_ALLOWED = re.compile(rb"[0-9+\-\s]*")
_INT = re.compile(rb"[+-]?[0-9]+")
_TOKEN = re.compile(rb"\S+")
#: Largest magnitude accepted: integers beyond it would not survive the float64 instance arrays.
MAX_MAGNITUDE = 2**53


def _show(token: bytes) -> str:
    text = token[:40].decode("utf-8", errors="replace")
    return f"{text!r}" + ("..." if len(token) > 40 else "")


class Tokens:
    """A file of whitespace-separated integers, consumed front to back.

    Attributes:
        file: the file name used in error messages.
        values: the tokens as int64, up to the first one that is not an integer (or is too large).
        pos: index of the next unread token (0-based).
    """

    def __init__(self, file: str, data: bytes) -> None:
        """Parse ``data`` (the bytes of ``file``).

        A token that is not an integer is reported when :meth:`take` reaches it (so the error
        says what the format expected there) or by :meth:`expect_end`; a format that ignores
        trailing text simply does not call :meth:`expect_end`.
        """
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        self.file = file
        self.data = data
        self.pos = 0
        self._offsets: list[int] | None = None
        raw = data.split()
        self._raw = raw
        self.count = len(raw)
        self._bad: int | None = None
        self._bad_expected = "an integer"
        values = None
        if _ALLOWED.fullmatch(data) is not None:
            try:
                values = np.array(raw, dtype=np.int64) if raw else np.zeros(0, dtype=np.int64)
            except (ValueError, OverflowError):
                values = None
        if values is None:
            self._bad, self._bad_expected = self._first_bad(raw)
            values = np.array(raw[: self._bad], dtype=np.int64) if self._bad else np.zeros(0, dtype=np.int64)
        big = np.flatnonzero((values > MAX_MAGNITUDE) | (values < -MAX_MAGNITUDE))
        if len(big):
            self._bad = int(big[0])
            self._bad_expected = "an integer of magnitude at most 2**53"
        if self._bad is not None:
            # keep the integers before the first bad token; taking it raises there
            values = values[: self._bad]
        self.values = values

    @classmethod
    def read(cls, path: str | Path) -> Tokens:
        """Read a file (gzip allowed, size-capped) and parse it."""
        return cls(str(path), jsonio.read_bytes(path))

    @staticmethod
    def _first_bad(raw: list[bytes]) -> tuple[int, str]:
        """Index of the first token that is not an integer (or too large), and what was expected."""
        for i, tok in enumerate(raw):
            if _INT.fullmatch(tok) is None:
                return i, "an integer"
            if abs(int(tok)) > MAX_MAGNITUDE:
                return i, "an integer of magnitude at most 2**53"
        raise AssertionError("no bad token found")  # pragma: no cover

    def where(self, index: int) -> str:
        """Position text for token ``index`` (0-based): ``token 17 (line 3)``; past the end, the
        position just after the last token."""
        if self._offsets is None:
            self._offsets = [m.start() for m in _TOKEN.finditer(self.data)]
        if index < len(self._offsets):
            line = self.data.count(b"\n", 0, self._offsets[index]) + 1
            return f"token {index + 1} (line {line})"
        if not self.data.strip():
            return f"token {index + 1} (empty file)"
        line = self.data.rstrip().count(b"\n") + 1
        return f"token {index + 1} (end of file after line {line})"

    def error(self, index: int, expected: str, found: str) -> InputError:
        return InputError(self.file, self.where(index), expected, found)

    @property
    def remaining(self) -> int:
        return self.count - self.pos

    def take(self, count: int, what: str, *, minimum: int | None = None) -> np.ndarray:
        """The next ``count`` integers as int64, each at least ``minimum`` when given."""
        start = self.pos
        if self._bad is not None and start + count > self._bad:
            raise self.error(self._bad, f"{self._bad_expected} ({what})", _show(self._raw[self._bad]))
        if count > self.count - start:
            have = self.count - start
            raise self.error(self.count, f"{count} integer(s) for {what}", f"end of file after {have} of them")
        block = self.values[start : start + count]
        if minimum is not None and count and block.min() < minimum:
            k = int(np.flatnonzero(block < minimum)[0])
            raise self.error(start + k, f"an integer >= {minimum} ({what})", f"{int(block[k])}")
        self.pos = start + count
        return block

    def one(self, what: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        """The next integer, within ``[minimum, maximum]`` when given."""
        value = int(self.take(1, what, minimum=minimum)[0])
        if maximum is not None and value > maximum:
            raise self.error(self.pos - 1, f"an integer <= {maximum} ({what})", f"{value}")
        return value

    def expect_end(self, what: str) -> None:
        """Raise unless every token has been read."""
        if self.pos < self.count:
            extra = self.count - self.pos
            raise self.error(
                self.pos,
                f"the end of the file ({what})",
                f"{extra} more token(s), starting with {_show(self._raw[self.pos])}",
            )


def plain_name(path: Path) -> str:
    """The file's name without a trailing ``.gz`` (gzipped files import like plain ones)."""
    name = path.name
    return name[:-3] if name.endswith(".gz") and len(name) > 3 else name


def file_stem(path: Path) -> str:
    """The file's stem, ignoring a trailing ``.gz``: ``gap1.txt.gz`` -> ``gap1``, ``c10400`` -> ``c10400``."""
    return Path(plain_name(path)).stem


#: Fields of ``metadata["known"]`` (the instance loader accepts exactly these).
KNOWN_KEYS = ("optimum", "best_known", "lower_bound", "upper_bound", "source")


def read_table(path: Path, *, delimiter: str = ",") -> list[dict[str, str]] | None:
    """Rows of a CSV/TSV file with a header line, or None when the file is missing or unreadable.

    Cached on (path, size, mtime), so re-reading the same table for each instance is free."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not path.is_file():
        return None
    return _read_table_cached(str(path.resolve()), st.st_size, st.st_mtime_ns, delimiter)


@lru_cache(maxsize=32)
def _read_table_cached(path: str, size: int, mtime_ns: int, delimiter: str) -> list[dict[str, str]] | None:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return None
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)} for row in reader]


def number(text: str | None) -> int | float | None:
    """A table cell as a number (int when integral), or None when empty or not a finite number."""
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def integer(text: str | None) -> int | None:
    """A table cell as an int, or None."""
    value = number(text)
    return value if isinstance(value, int) else None


def known_entry(source: str, **values: int | float | None) -> dict[str, Any] | None:
    """A ``metadata["known"]`` dict from the values that are present (None when none is)."""
    out: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
    if not out:
        return None
    out["source"] = source
    return out


def check_known(values: Any, what: str) -> dict[str, Any]:
    """Check caller-supplied known values: only :data:`KNOWN_KEYS`, finite numbers, a string source."""
    if not isinstance(values, Mapping):
        raise ValueError(f"{what}: expected a mapping of {list(KNOWN_KEYS)}, got {type(values).__name__}")
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in KNOWN_KEYS:
            raise ValueError(f"{what}: unknown field {key!r}; allowed: {list(KNOWN_KEYS)}")
        if key == "source":
            if not isinstance(value, str):
                raise ValueError(f"{what}.source: expected a string, got {type(value).__name__}")
        elif value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
        ):
            raise ValueError(f"{what}.{key}: expected a finite number, got {value!r}")
        out[key] = value
    return out


def known_table(option: Any, lookup: Callable[[], Mapping[str, dict[str, Any]] | None]) -> dict[str, dict[str, Any]]:
    """Instance name -> known values under the importers' ``known`` option.

    ``option`` True: ``lookup()``, the published values found beside the file; False or None:
    none; a mapping: instance name -> values dict supplied by the caller (checked here)."""
    if option is True:
        return dict(lookup() or {})
    if option is False or option is None:
        return {}
    if isinstance(option, Mapping):
        return {str(name): check_known(values, f"known[{name!r}]") for name, values in option.items()}
    raise ValueError(f"option known: expected True, False or a mapping instance name -> values, got {option!r}")
