"""``schedbench demo``: the Quickstart's first command (:func:`schedbench.examples.run_demo`)."""

from __future__ import annotations

from schedbench.cli.console import guarded, out


@guarded()
def demo() -> int:
    """Validate the bundled example solutions (one per problem class) and print their objectives in a table."""
    from schedbench.examples import run_demo

    return run_demo(out)
