"""Shared by every ``schedbench`` sub-command: turning bad input into one line and exit 2."""

from __future__ import annotations

from collections.abc import Callable

import typer
from rich.console import Console

from schedbench.errors import InputError


def guard(fn: Callable[[], int | None], err: Console,
          errors: tuple[type[BaseException], ...] = (InputError,)) -> None:
    """Run a command body. An exception of one of ``errors`` (bad input: a malformed file, a bad
    argument, an unknown name) is printed as one ``error:`` line on ``err`` with exit status 2 and
    no traceback; a non-zero return value becomes the exit status."""
    try:
        code = fn()
    except errors as exc:
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        err.print(f"error: {text}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if code:
        raise typer.Exit(code)
