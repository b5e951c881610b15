"""``schedbench rl train`` and ``schedbench rl info``: train an agent on an RL environment and save
the model; show a model's metadata (docs/rl.md).

Importable without the ``[rl]`` extra (the main CLI mounts it): a command then fails with one
``error:`` line naming the missing modules, exit status 2. Bad arguments: one line, exit 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from schedbench.cli.console import err, guarded, out, parse_pairs
from schedbench.errors import InputError, UsageError

app = typer.Typer(
    help="Reinforcement-learning schedulers: train agents on the simulator's environments (docs/rl.md).",
    no_args_is_help=True,
)


def _need_extra() -> None:
    from schedbench.rl import missing

    gone = missing()
    if gone:
        raise UsageError(
            f"the [rl] extra is not installed (missing: {', '.join(gone)}); "
            f"pip install 'torch==2.13.0' 'schedbench[rl]'"
        )


def env_kwargs_from(
    window: int,
    reward: str,
    predictor: str,
    sigma: float,
    preset: str | None,
    params: list[str] | None,
    instance: Path | None,
    wait: bool = True,
) -> dict[str, Any]:
    """The environment keyword arguments of the command-line options."""
    from schedbench.generators.spec import parse_cli_value
    from schedbench.rl.envs import DEFAULT_SOURCE

    if reward not in ("dense", "sparse"):
        raise UsageError(f"--reward: expected dense or sparse, got {reward!r}")
    if window < 1:
        raise UsageError(f"--window: expected a positive integer, got {window}")
    kw: dict[str, Any] = {"window": window, "reward": reward, "predictor": predictor, "sigma": sigma, "wait": wait}
    if instance is not None:
        if preset is not None or params:
            raise UsageError("--instance excludes --preset and --param")
        kw["source"] = str(instance)
        return kw
    given = parse_pairs(params, "--param", convert=parse_cli_value)
    if preset is None and not given:
        kw["source"] = dict(DEFAULT_SOURCE)
    else:
        kw["source"] = {"class": "online", "preset": preset, "params": given}
    return kw


def train_command(
    algo: str, env: str, timesteps: int, seed: int, output: Path, kw: dict[str, Any], progress: bool = True
) -> int:
    """Body of ``schedbench rl train``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    _need_extra()
    from schedbench.rl.train import ALGOS, train

    if algo not in ALGOS:
        raise UsageError(f"--algo: expected one of {list(ALGOS)}, got {algo!r}")
    if env not in ("queue", "placement"):
        raise UsageError(f"--env: expected queue or placement, got {env!r}")
    if timesteps < 1:
        raise UsageError(f"--timesteps: expected a positive integer, got {timesteps}")
    if seed < 0:
        raise UsageError(f"--seed: expected a non-negative integer, got {seed}")
    if output.suffix != ".zip":
        raise UsageError(f"-o {output}: the model file must end in .zip")
    output.parent.mkdir(parents=True, exist_ok=True)
    if env == "placement":
        kw.pop("window", None)
        kw.pop("wait", None)
    try:  # the source is checked before training: a bad preset or parameter is one line
        from schedbench.rl.train import make_env

        make_env(env, kw).reset(seed=seed)
    except (InputError, ValueError, OSError) as exc:
        raise UsageError(f"environment: {exc}") from None
    with Progress(
        TextColumn(f"{algo} on {env}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not progress,
        transient=False,
    ) as bar:
        task = bar.add_task("train", total=timesteps)
        meta = train(
            algo,
            env,
            timesteps=timesteps,
            seed=seed,
            env_kwargs=kw,
            out=output,
            progress=lambda n: bar.update(task, completed=min(n, timesteps)),
        )
    out.print(
        f"wrote {output}: {algo} on {env}, {timesteps} steps, seed {seed}, "
        f"{meta['train_cpu_seconds']:.1f} CPU-s ({meta['train_wall_seconds']:.1f} s wall)"
    )
    return 0


@app.command("train")
@guarded()
def train_cmd(
    algo: Annotated[str, typer.Option("--algo", help="ppo (MaskablePPO), dqn (masked DQN) or pg (REINFORCE).")],
    env: Annotated[str, typer.Option("--env", help="queue or placement.")] = "queue",
    timesteps: Annotated[int, typer.Option("--timesteps", help="Environment steps.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seeds torch, numpy and the episodes.")] = 0,
    output: Annotated[Path, typer.Option("-o", "--output", help="Model file (.zip).")] = Path("model.zip"),
    window: Annotated[int, typer.Option(help="queue env: waiting jobs offered (W).")] = 128,
    reward: Annotated[str, typer.Option(help="dense (jobs in system x time) or sparse (bounded slowdown).")] = "dense",
    predictor: Annotated[str, typer.Option(help="What the agent is told of sizes: noisy, oracle, history.")] = "noisy",
    sigma: Annotated[float, typer.Option(help="noisy predictor's log-normal sigma.")] = 0.5,
    preset: Annotated[str | None, typer.Option(help="Online generator preset of the episodes (mmc, mg1...).")] = None,
    param: Annotated[list[str] | None, typer.Option("-p", "--param", help="Generator parameter key=value.")] = None,
    instance: Annotated[Path | None, typer.Option(help="Train on this online instance instead.")] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="queue env: offer the wait action (--no-wait: work-conserving, the agent only orders).",
        ),
    ] = True,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
) -> int:
    """Train an agent; episodes are fresh generated instances (default: 200 Philly-like jobs, load 0.9)."""
    kw = env_kwargs_from(window, reward, predictor, sigma, preset, param, instance, wait)
    return train_command(algo, env, timesteps, seed, output, kw, progress=not no_progress)


@app.command("info")
@guarded()
def info_cmd(model: Annotated[Path, typer.Argument(help="Model file (.zip).")]) -> int:
    """Print a model's metadata (algorithm, environment, training seed, steps and time) as JSON."""
    from schedbench.rl.train import read_meta

    try:
        meta = read_meta(model)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return 0
