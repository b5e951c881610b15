"""Errors raised on bad input.

Every error that reaches a user names the file, the JSON path inside it, what was expected and
what was found, so that the CLI can print one clear line and exit 2 without a traceback.
"""

from __future__ import annotations

from typing import Any


def describe(value: Any, limit: int = 60) -> str:
    """A short human description of a JSON value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + "..."
        return f"string {text!r}"
    if isinstance(value, list):
        return f"array of length {len(value)}"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class InputError(ValueError):
    """A malformed input file: names the file, the JSON path, what was expected and what was found.

    Attributes:
        file: path of the offending file (or "<string>" when parsed from memory).
        path: JSON path of the offending value, e.g. ``$.jobs.gang[12]``.
        expected: what the format requires there.
        found: what the file holds instead.
    """

    def __init__(self, file: str, path: str, expected: str, found: str) -> None:
        self.file = file
        self.path = path
        self.expected = expected
        self.found = found
        super().__init__(f"{file}: at {path}: expected {expected}, found {found}")


class DataError(InputError):
    """An input file whose contents are well formed JSON but not a valid schedbench document."""


class UsageError(InputError):
    """A bad argument of a command or API call (an unknown name, a malformed ``key=value``): the
    message is the whole text; an :class:`InputError`, so the CLI prints it as one line and exits 2."""

    def __init__(self, message: str) -> None:
        self.file, self.path, self.expected, self.found = "<command line>", "", "", ""
        ValueError.__init__(self, message)
