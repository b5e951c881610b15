"""What every ``schedbench`` command shares: the consoles, the error guard and the ``key=value`` parser.

- :data:`out` (stdout) and :data:`err` (stderr) are the only consoles of the command line (a
  command that wants a wider table when piped asks :func:`make_console`). Both have rich markup
  **off**: file names, instance and solver names (``greedy-bestfit[order=input]``), error messages
  and table cells are data and are printed as they are. Styling goes through :class:`rich.text.Text`
  (see :func:`styled`), never through markup in a string that holds data.
- :func:`guarded` wraps a command: bad input (an :class:`~schedbench.errors.InputError`, or the
  extra exception types a command names) is printed as one ``error: ...`` line on stderr with exit
  status 2 and no traceback; a non-zero return value becomes the exit status.
- :func:`parse_pairs` parses the ``key=value`` options (``--param``, ``--option``).

Exit codes of the command line: 0 success; 1 a negative answer (an infeasible solution, a failed
check, a regression); 2 bad input (malformed file, unknown name, wrong usage).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, ParamSpec

import typer
from rich.console import Console
from rich.text import Text

from schedbench.errors import InputError, UsageError

P = ParamSpec("P")

#: Width of the stdout console when it is not a terminal (CI logs, pipes): a fixed, wide table
#: instead of rich's 80-column fallback.
PIPED_WIDTH = 120


def make_console(*, stderr: bool = False, piped_width: int | None = PIPED_WIDTH) -> Console:
    """A console with markup and highlighting off; on stdout, ``piped_width`` columns when stdout is
    not a terminal (None: rich's default)."""
    if stderr:
        return Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
    width = None if sys.stdout.isatty() else piped_width
    return Console(highlight=False, markup=False, width=width, soft_wrap=True)


#: The console of the commands' output.
out = make_console()
#: The console of messages, progress bars and errors.
err = make_console(stderr=True)


def styled(*parts: str | tuple[str, str]) -> Text:
    """One line from plain strings and ``(text, style)`` pairs; no part is parsed as markup."""
    text = Text()
    for part in parts:
        if isinstance(part, tuple):
            text.append(part[0], style=part[1])
        else:
            text.append(part)
    return text


def error_line(message: str) -> Text:
    """``error: message`` with the prefix in bold red and the message verbatim."""
    return styled(("error:", "bold red"), " ", message)


def fail(message: str) -> NoReturn:
    """Stop the command on bad command-line input: :func:`guarded` prints ``message``, exit 2."""
    raise UsageError(message)


def guarded(*also: type[BaseException]) -> Callable[[Callable[P, int | None]], Callable[P, None]]:
    """Decorate a command function: run it and turn its outcome into the exit status.

    An :class:`~schedbench.errors.InputError` (which includes :class:`~schedbench.errors.UsageError`)
    or an exception of one of the types ``also`` (the bad-input errors of the domain code the command
    calls, e.g. ``KeyError`` for an unknown name) is printed as one ``error:`` line on :data:`err`
    with exit status 2 and no traceback; a non-zero return value becomes the exit status. Any other
    exception is a bug and propagates with its traceback.
    """
    errors: tuple[type[BaseException], ...] = (InputError, *also)

    def decorate(fn: Callable[P, int | None]) -> Callable[P, None]:
        @functools.wraps(fn)
        def command(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                code = fn(*args, **kwargs)
            except errors as exc:
                text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                err.print(error_line(str(text)))
                raise typer.Exit(2) from None
            if code:
                raise typer.Exit(code)

        return command

    return decorate


def parse_pairs(
    items: Iterable[str] | None,
    option: str = "--param",
    *,
    convert: Callable[[str], Any] | None = None,
    expects: str = "key=value",
) -> dict[str, Any]:
    """``key=value`` strings into a dict, in order (a repeated key keeps the last value).

    Keys are stripped of surrounding blanks; ``convert`` turns each value (the text after the first
    ``=``) into its Python value; without it values stay strings. Raises
    :class:`~schedbench.errors.UsageError` naming ``option`` for an item without ``=`` or with an empty key.
    """
    pairs: dict[str, Any] = {}
    for item in items or ():
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"{option} expects {expects}, got {item!r}")
        pairs[key.strip()] = value if convert is None else convert(value)
    return pairs


def print_json(doc: Any) -> None:
    """``doc`` as indented, key-sorted strict JSON on stdout (a non-finite number is an error; numpy
    scalars become Python numbers, other unknown objects floats)."""
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # a numpy scalar: its Python int, float or bool
        return value.item()
    return float(value)


def num(value: float | None) -> str:
    """A number in at most 10 significant digits; ``-`` for a missing one."""
    if value is None:
        return "-"
    return f"{value:.10g}"
