"""The ``schedbench`` command line: builds the Typer application and mounts the command groups.

One module per command group, each holding its commands' options and bodies:

- :mod:`~schedbench.cli.instances`: ``validate``, ``show``, ``import``, ``schema``, ``generate``
- :mod:`~schedbench.cli.suite`: ``suite list|build|verify|lock``
- :mod:`~schedbench.cli.run`: ``run`` (campaigns); :mod:`~schedbench.cli.solve`: ``solve``;
  :mod:`~schedbench.cli.simulate`: ``simulate``
- :mod:`~schedbench.cli.report`: ``report``, ``compare``, ``tables``, ``publish``;
  :mod:`~schedbench.cli.plot`: ``plot``
- :mod:`~schedbench.cli.export`: ``export`` (a result set as parquet/CSV);
  :mod:`~schedbench.cli.export_model`: ``export-model`` (an instance's ILP model as MPS/LP)
- :mod:`~schedbench.cli.profile`: ``profile``, ``catalogue merge``; :mod:`~schedbench.cli.catalogue`: ``catalogue``;
  :mod:`~schedbench.cli.traces`: ``traces``; :mod:`~schedbench.cli.solvers`: ``solvers``;
  :mod:`~schedbench.cli.store`: ``store``; :mod:`~schedbench.cli.rl`: ``rl``; :mod:`~schedbench.cli.demo`: ``demo``

They share :mod:`~schedbench.cli.console` (the consoles, the error guard, the ``key=value`` parser).
Exit codes: 0 success (and, for ``validate``, a feasible solution); 1 a negative answer (an infeasible
solution, a failed check); 2 bad input (malformed file, unknown name, wrong usage), printed as one line
without a traceback.
"""

from __future__ import annotations

from typing import Annotated

import typer

from schedbench import __version__
from schedbench.cli import (
    catalogue,
    demo,
    export,
    export_model,
    instances,
    plot,
    profile,
    report,
    rl,
    run,
    simulate,
    solve,
    solvers,
    store,
    suite,
    traces,
)
from schedbench.cli.console import out

app = typer.Typer(
    name="schedbench",
    help="Benchmark suite and solver-comparison harness for scheduling DL training jobs on GPU clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
)


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"schedbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """schedbench: instances and their validator, generators and suites, solvers and campaigns, reports."""


app.command()(instances.validate)
app.command()(instances.show)
app.command("import")(instances.import_)
app.command()(instances.schema)
app.command()(instances.generate)
app.command()(run.run)
app.command()(simulate.simulate)
app.command()(solve.solve)
app.command()(report.report)
app.command()(export.export)
app.command("export-model")(export_model.export_model)
app.command()(report.compare)
app.command()(plot.plot)
app.command()(report.tables)
app.command()(report.publish)
app.command("profile")(profile.profile)
app.command()(demo.demo)

catalogue.app.command("merge")(profile.merge)
app.add_typer(suite.app, name="suite")
app.add_typer(catalogue.app, name="catalogue")
app.add_typer(traces.app, name="traces")
app.add_typer(solvers.app, name="solvers")
app.add_typer(store.app, name="store")
app.add_typer(rl.app, name="rl")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
