"""The ``schedbench`` command line: one module per command group, mounted by :mod:`schedbench.cli.app`.

Importing this package imports nothing else, so domain code never pays for typer; :func:`main` loads the
application on first use.
"""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``schedbench`` console script."""
    from schedbench.cli.app import main as run

    run()
