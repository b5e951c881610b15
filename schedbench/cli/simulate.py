"""``schedbench simulate POLICY INSTANCE``: run one policy in the simulator, grade the event log
with the validator and print its metrics.

Exit status: 0 the run completed and its log is feasible; 1 it starved (jobs left waiting for
ever, named), its log is infeasible, the policy made an impossible decision or raised; 2 bad input
(a malformed instance, an unknown policy or parameter), as one line without a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from schedbench.cli.console import err as _err
from schedbench.cli.console import error_line, guarded, parse_pairs
from schedbench.cli.console import out as _out
from schedbench.errors import UsageError

#: (metric key, label) in the order printed.
METRICS = (
    ("jct_mean", "mean JCT (s)"),
    ("jct_median", "p50 JCT (s)"),
    ("jct_p99", "p99 JCT (s)"),
    ("queueing_delay_mean", "mean queueing delay (s)"),
    ("bounded_slowdown_mean", "mean bounded slowdown"),
    ("makespan", "makespan (s)"),
    ("utilisation", "utilisation"),
    ("ftf_max", "max finish-time fairness"),
    ("preemptions", "preemptions"),
    ("migrations", "migrations"),
    ("wasted_gpu_seconds", "wasted GPU-seconds"),
    ("acceptance_rate", "acceptance rate"),
    ("deadline_met_fraction", "deadlines met"),
    ("littles_law_error", "Little's law relative error"),
)
#: Runs with at least this many jobs show a progress bar.
PROGRESS_JOBS = 50_000


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``key=value`` strings to a dict (values parsed as the generators parse them)."""
    from schedbench.generators.spec import parse_cli_value

    return parse_pairs(items, "--param", convert=parse_cli_value)


def policy_class(name: str, solvers_dir: list[Path] | None = None) -> Any:
    """The registered policy solver class called ``name`` (a solver with ``make_policy``)."""
    from schedbench.plugins.registry import RegistryError, get_registry

    try:
        reg = get_registry([str(d) for d in solvers_dir or ()])
        entry = reg.get(name)
        cls = entry.load()
    except (KeyError, RegistryError) as exc:
        raise UsageError(str(exc).strip("'\"")) from None
    if not hasattr(cls, "make_policy"):
        policies = sorted(e.name for e in reg.entries() if e.family == "policy")
        raise UsageError(f"solver {name!r} is not a simulator policy (family {entry.family!r}); policies: {policies}")
    return cls


@guarded()
def simulate(
    policy: Annotated[str, typer.Argument(help="Policy name (a solver of family policy, e.g. fcfs, srpt, las).")],
    instance: Annotated[Path, typer.Argument(help="Online instance file.")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", help="key=value (repeatable), e.g. predictor=noisy, sigma=1.0, admission=wait-deadline."
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the event log (solution JSON).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The metrics as one JSON object.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the noisy predictor.")] = 0,
    solvers_dir: Annotated[list[Path] | None, typer.Option("--solvers-dir", help="Extra plugin folder.")] = None,
) -> int:
    """Simulate one online policy on an instance; print the validated metrics (docs/simulator.md)."""
    return _simulate(
        policy,
        instance,
        param=param,
        output=output,
        as_json=as_json,
        seed=seed,
        solvers_dir=solvers_dir,
        out=_out,
        err=_err,
    )


def _simulate(
    policy: str,
    instance: Path,
    *,
    param: list[str] | None,
    output: Path | None,
    as_json: bool,
    seed: int,
    solvers_dir: list[Path] | None,
    out: Console,
    err: Console,
) -> int:
    from schedbench.instances import load
    from schedbench.simulator.engine import PolicyError, SimulationError, Simulator
    from schedbench.validator import validate

    cls = policy_class(policy, solvers_dir)
    try:
        params = cls.resolve_params(parse_params(param))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    inst = load(instance)
    if inst.problem.cls != "online":
        raise UsageError(f"{instance}: a {inst.problem.cls!r} instance; simulate runs online instances")
    try:
        sim = Simulator(
            inst,
            cls.make_policy(params),
            predictor=params["predictor"],
            sigma=params["sigma"],
            seed=seed,
            history_prior_s=params["history_prior_s"],
        )
    except ValueError as exc:
        raise UsageError(f"{instance}: {exc}") from None
    try:
        if inst.n_jobs >= PROGRESS_JOBS and not as_json:
            from rich.markup import escape
            from rich.progress import Progress

            with Progress(console=err, transient=True) as bar:
                task = bar.add_task(escape(f"simulating {policy}"), total=inst.n_jobs)
                res = sim.run(progress=lambda done, total: bar.update(task, completed=done))
        else:
            res = sim.run()
    except (SimulationError, PolicyError) as exc:
        err.print(error_line(str(exc)))
        return 1
    verdict = validate(inst, res.solution(), file=str(output or "<simulated log>"))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            **res.solution(),
            "solver": policy,
            "status": "feasible" if res.status == "complete" else "unknown",
            "metadata": {"predictor": res.predictor, "simulation": res.status, "params": params},
        }
        output.write_text(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
    m = verdict.metrics
    if as_json:
        doc = {
            "policy": policy,
            "instance": str(instance),
            "predictor": res.predictor,
            "status": res.status,
            "message": res.message,
            "stuck": res.stuck,
            "feasible": verdict.feasible,
            "objective": verdict.objective,
            "violation_counts": verdict.violation_counts,
            "simulation_seconds": res.wall_seconds,
            "event_times": res.event_times,
            "params": params,
            "metrics": m,
        }
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, allow_nan=False, default=str) + "\n")
    else:
        table = Table(
            title=Text(
                f"{policy} on {inst.name or instance} (predictor: {res.predictor}"
                + (", true times" if res.predictor == "oracle" else "")
                + ")"
            )
        )
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, label in METRICS:
            v = m.get(key)
            table.add_row(label, "-" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v)))
        out.print(table)
        out.print(
            f"{res.message}; log {'feasible' if verdict.feasible else 'INFEASIBLE'} "
            f"({len(res.events)} events, {res.wall_seconds:.2f} s)"
        )
        if not verdict.feasible:
            for v in verdict.violations[:5]:
                out.print(f"  {v}")
    return 0 if res.status == "complete" and verdict.feasible else 1
