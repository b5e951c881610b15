"""Command bodies of ``schedbench profile`` and ``schedbench catalogue merge``.

Registered by :mod:`schedbench.cli.app` (``profile`` on the main app, ``merge`` on the ``catalogue``
group). Exit codes as in the main CLI: 0 success, 2 bad input or a run that cannot be done (one
``error:`` line on stderr, no traceback). torch is imported only when ``profile`` runs.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from schedbench.cli.console import err, guarded, make_console, print_json
from schedbench.profiler import OutOfMemoryError, ProfileError, require_torch
from schedbench.profiler.workloads import LOSSES, Workload, builtin_names, resolve

#: The measurement tables are wide: 160 columns when piped.
out = make_console(piped_width=160)


def command_line(
    model: str,
    device: str,
    batch_sizes: list[int],
    steps: int,
    warmup: int,
    *,
    seed: int,
    threads: int | None,
    isolate: bool,
    inputs: list[str],
    loss: str | None,
    family: str | None,
    key: str | None,
    task: str | None,
    gpu_type: str | None,
    output: Path | None,
) -> str:
    """The command line of a run with every effective setting spelled out (for the provenance)."""
    args = ["schedbench", "profile", model, "--device", device]
    for b in batch_sizes:
        args += ["--batch-size", str(b)]
    args += ["--steps", str(steps), "--warmup", str(warmup), "--seed", str(seed)]
    if threads is not None:
        args += ["--threads", str(threads)]
    args.append("--isolate" if isolate else "--no-isolate")
    for text in inputs:
        args += ["--input", text]
    for opt, value in (
        ("--loss", loss),
        ("--family", family),
        ("--key", key),
        ("--task", task),
        ("--gpu-type", gpu_type),
        ("-o", None if output is None else str(output)),
    ):
        if value is not None:
            args += [opt, value]
    return shlex.join(args)


def _run_isolated(
    workload: Workload,
    batch: int,
    *,
    device: str,
    steps: int,
    warmup: int,
    seed: int,
    threads: int | None,
    progress: Callable[[str, int, int], None],
) -> Any:
    """One measurement in a fresh ``python -m schedbench.profiler.worker`` process."""
    from schedbench.profiler.measure import Measurement
    from schedbench.profiler.worker import request

    req = request(workload, batch, device=device, steps=steps, warmup=warmup, seed=seed, threads=threads)
    proc = subprocess.Popen(
        [sys.executable, "-m", "schedbench.profiler.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(req))
    proc.stdin.close()
    result: dict[str, Any] | None = None
    message: str | None = None
    oom = False
    for line in proc.stdout:
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue
        if doc.get("event") == "progress":
            progress(doc["phase"], doc["done"], doc["total"])
        elif doc.get("event") == "result":
            result = doc["measurement"]
        elif doc.get("event") == "error":
            message = doc["message"]
            oom = bool(doc.get("out_of_memory"))
    stderr = proc.stderr.read()
    code = proc.wait()
    if message is not None:
        raise (OutOfMemoryError if oom else ProfileError)(message)
    if result is None or code != 0:
        tail = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        raise ProfileError(
            f"the measurement process for batch size {batch} failed (exit status {code})"
            + (f": {tail[-1].strip()}" if tail else "")
        )
    return Measurement.from_dict(result)


def profile_body(
    model: str,
    device: str,
    batch_sizes: list[int],
    steps: int,
    warmup: int,
    *,
    seed: int = 0,
    threads: int | None = None,
    isolate: bool | None = None,
    inputs: list[str] | None = None,
    loss: str | None = None,
    family: str | None = None,
    key: str | None = None,
    task: str | None = None,
    gpu_type: str | None = None,
    output: Path | None = None,
    as_json: bool = False,
) -> int:
    """``schedbench profile``: measure, print a table (or JSON), write the catalogue fragment."""
    workload = resolve(model, inputs, loss, family=family, key=key, task=task)
    batch_sizes = batch_sizes or [32]
    _check_arguments(device, batch_sizes, steps, warmup, threads)
    torch = require_torch()
    if output is not None:
        try:  # fail before measuring, not after
            output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProfileError(f"-o {output}: cannot create its folder: {exc.strerror}") from None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ProfileError(
            f"--device {device}: CUDA is not available (torch {torch.__version__}"
            f"{', a CPU-only build' if torch.version.cuda is None else ''})"
        )
    if isolate is None:
        isolate = device == "cpu"
    if workload.name not in builtin_names():
        from schedbench.profiler.measure import load_factory

        load_factory(workload.factory)  # an import path that does not import fails here, before any process starts
    cmd = command_line(
        model,
        device,
        batch_sizes,
        steps,
        warmup,
        seed=seed,
        threads=threads,
        isolate=isolate,
        inputs=inputs or [],
        loss=loss,
        family=family,
        key=key,
        task=task,
        gpu_type=gpu_type,
        output=output,
    )
    measurements, skipped = _measure_sweep(
        workload, model, device, batch_sizes, steps, warmup, seed=seed, threads=threads, isolate=isolate
    )
    from schedbench.profiler.entry import build_fragment

    fragment = build_fragment(measurements, workload, cmd, gpu_type=gpu_type)
    if output is not None:
        from schedbench import jsonio

        try:
            jsonio.write_bytes(output, jsonio.dumps_canonical(fragment.to_dict()))
        except OSError as exc:
            raise ProfileError(f"-o {output}: cannot write it: {exc.strerror}") from None
    if as_json:
        print_json(
            {
                "command": cmd,
                "measurements": [m.to_dict() for m in measurements],
                "out_of_memory": skipped,
                "fragment": fragment.to_dict(),
                "written": None if output is None else str(output),
            }
        )
        return 0
    _print_measurements(workload, fragment, measurements, skipped, steps, warmup, output)
    return 0


def _check_arguments(device: str, batch_sizes: list[int], steps: int, warmup: int, threads: int | None) -> None:
    """Raise :class:`ProfileError` for a repeated or non-positive batch size, bad step counts or
    threads, or a device other than ``cpu``/``cuda[:N]``."""
    if len(set(batch_sizes)) != len(batch_sizes):
        raise ProfileError(f"--batch-size repeats a value: {batch_sizes}")
    if any(b < 1 for b in batch_sizes) or steps < 1 or warmup < 0:
        raise ProfileError("--batch-size and --steps must be >= 1 and --warmup >= 0")
    if threads is not None and threads < 1:
        raise ProfileError("--threads must be >= 1")
    if device != "cpu" and not (device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        raise ProfileError(f"--device must be cpu or cuda[:N], not {device!r}")


def _measure_sweep(
    workload: Workload,
    model: str,
    device: str,
    batch_sizes: list[int],
    steps: int,
    warmup: int,
    *,
    seed: int,
    threads: int | None,
    isolate: bool,
) -> tuple[list[Any], list[int]]:
    """Measure every batch size (in a fresh process each when ``isolate``) with a progress bar on a
    terminal; return the measurements and the batch sizes skipped as out of memory.

    Raises:
        ProfileError: no batch size fits; OutOfMemoryError: the only batch size does not fit.
    """
    from schedbench.profiler.measure import measure

    measurements = []
    skipped: list[int] = []
    total = len(batch_sizes) * (steps + warmup)
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task_id = bar.add_task(f"profiling {model}", total=total)
        for i, b in enumerate(batch_sizes):
            done_before = i * (steps + warmup)

            def tick(phase: str, done: int, _total: int, b: int = b, done_before: int = done_before) -> None:
                n = done if phase == "warmup" else warmup + done
                bar.update(
                    task_id,
                    completed=done_before + n,
                    description=f"{model} bs {b} {'warm-up' if phase == 'warmup' else 'timed'}",
                )

            try:
                if isolate:
                    m = _run_isolated(
                        workload,
                        b,
                        device=device,
                        steps=steps,
                        warmup=warmup,
                        seed=seed,
                        threads=threads,
                        progress=tick,
                    )
                else:
                    m = measure(
                        workload,
                        b,
                        device=device,
                        steps=steps,
                        warmup=warmup,
                        seed=seed,
                        threads=threads,
                        progress=tick,
                    )
            except OutOfMemoryError as exc:
                if len(batch_sizes) == 1:
                    raise
                skipped.append(b)  # a sweep goes on with the batch sizes that fit
                err.print(f"note: {exc}; batch size {b} skipped")
                continue
            measurements.append(m)
    if not measurements:
        raise ProfileError(f"model {model!r}: no batch size of {batch_sizes} fits on {device} (out of memory)")
    return measurements, skipped


def _print_measurements(
    workload: Workload,
    fragment: Any,
    measurements: list[Any],
    skipped: list[int],
    steps: int,
    warmup: int,
    output: Path | None,
) -> None:
    """The measurements as a table on stdout, with what was skipped and written."""
    gpu = next(iter(fragment.gpus))
    info = measurements[0].device_info
    out.print(f"{workload.name} on {gpu}: {fragment.gpus[gpu].name}")
    table = Table(title=Text(f"{workload.model} ({steps} timed steps after {warmup} warm-up)"))
    for col in (
        "job type",
        "batch",
        f"{workload.samples}/s",
        "step p50 ms",
        "step p95 ms",
        "peak memory MiB",
        "GFLOP/step",
        "params",
    ):
        table.add_column(col, justify="right" if col != "job type" else "left")
    for m in measurements:
        table.add_row(
            f"{m.key}-bs{m.batch_size}",
            str(m.batch_size),
            f"{m.throughput:.4g}",
            f"{m.step_time_s['p50'] * 1000:.4g}",
            f"{m.step_time_s['p95'] * 1000:.4g}",
            "-" if m.peak_memory_bytes is None else f"{m.peak_memory_bytes / 2**20:.1f}",
            f"{m.flops_per_step / 1e9:.4g}",
            f"{m.params:,}",
        )
    out.print(table)
    if skipped:
        out.print(f"out of memory, skipped: batch size {', '.join(map(str, skipped))}")
    out.print(f"torch {info['torch']}; memory: {measurements[0].memory_method}")
    if output is not None:
        out.print(
            f"wrote {output}: a catalogue fragment of {len(fragment.job_types)} job type(s) on {gpu}; add it "
            f"to your catalogue with: schedbench catalogue merge {shlex.quote(str(output))}"
        )


@guarded(ProfileError)
def profile(
    model: Annotated[
        str,
        typer.Argument(
            help=f"One of {', '.join(builtin_names())} (the source article's models) or "
            "pkg.module:factory (a callable returning a torch.nn.Module)."
        ),
    ],
    device: Annotated[str, typer.Option("--device", help="cpu or cuda[:N].")] = "cpu",
    batch_size: Annotated[
        list[int] | None, typer.Option("--batch-size", "-b", help="Batch size; repeat for a sweep (default 32).")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", help="Timed training steps per batch size.")] = 20,
    warmup: Annotated[int, typer.Option("--warmup", help="Untimed steps before them.")] = 5,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the catalogue fragment (entry) here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every figure and the fragment as JSON.")] = False,
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", help="User model: one forward argument of one sample, DTYPE:SHAPE[:HIGH] (repeat)."),
    ] = None,
    loss: Annotated[str | None, typer.Option("--loss", help=f"User model: {', '.join(LOSSES)}.")] = None,
    family: Annotated[str | None, typer.Option("--family", help="User model: catalogue family (default cnn).")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Job type key stem (the key is <stem>-bs<B>).")] = None,
    task: Annotated[str | None, typer.Option("--task", help="User model: task text for the catalogue.")] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU: torch threads (default: torch's).")] = None,
    gpu_type: Annotated[
        str | None,
        typer.Option("--gpu-type", help="CUDA: the catalogue GPU id of the device (default: matched by name)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the weights and the synthetic batch.")] = 0,
    isolate: Annotated[
        bool | None,
        typer.Option("--isolate/--no-isolate", help="Each batch size in a fresh process (default: on CPU)."),
    ] = None,
) -> int:
    """Measure training steps of a model: throughput, step times, peak memory, FLOPs, parameters; write a
    catalogue entry with provenance (docs/profile.md)."""
    return profile_body(
        model,
        device,
        batch_size or [],
        steps,
        warmup,
        seed=seed,
        threads=threads,
        isolate=isolate,
        inputs=inputs or [],
        loss=loss,
        family=family,
        key=key,
        task=task,
        gpu_type=gpu_type,
        output=output,
        as_json=as_json,
    )


def merge_body(fragments: list[Path], into: Path | None, replace_measured: bool, as_json: bool) -> int:
    """``schedbench catalogue merge``: merge ``fragments`` into the catalogue file ``into`` (default:
    the user catalogue) and print what changed (or JSON); returns 0.

    Raises:
        ProfileError: the user catalogue is turned off and no file is named, or it cannot be written.
    """
    from schedbench.catalogue import layers
    from schedbench.catalogue.build import load_catalogue, shipped_path

    target = into if into is not None else layers.user_catalogue_path()
    if target is None:
        raise ProfileError(
            f"the user catalogue is turned off (${layers.USER_ENV} is empty or 'none'); name a file with --into"
        )
    base = load_catalogue(shipped_path())
    if target.resolve() != layers.profiled_path().resolve():
        base = (
            layers.merge_fragment(base, layers.read_fragment(layers.profiled_path()), replace_measured=True)[0]
            if layers.profiled_path().exists()
            else base
        )
    try:
        merged, report = layers.merge_files(target, fragments, replace_measured=replace_measured, check_against=base)
    except OSError as exc:
        raise ProfileError(f"cannot write {target}: {exc.strerror}") from None
    user = layers.user_catalogue_path()
    active = user is not None and target.resolve() == user.resolve()
    if as_json:
        print_json(
            {
                "into": str(target),
                "active": active,
                "job_types": sorted(merged.job_types),
                "added_jobs": report.added_jobs,
                "extended_jobs": report.extended_jobs,
                "added_gpus": report.added_gpus,
                "figures_added": report.figures_added,
                "figures_replaced": report.figures_replaced,
                "derived_dropped": report.derived_dropped,
            }
        )
        return 0
    out.print(f"merged {len(fragments)} file(s) into {target}: {report.summary()}")
    if active:
        out.print(
            "schedbench catalogue list/show/coverage now include it; the generators draw it with -p user_catalogue=true"
        )
    elif target.resolve() == layers.profiled_path().resolve():
        out.print("that is the project's shipped measurements layer (schedbench/data/profiled.json)")
    else:
        out.print(f"to use it: export {layers.USER_ENV}={shlex.quote(str(target))}")
    return 0


@guarded(ProfileError)
def merge(
    fragments: Annotated[
        list[Path],
        typer.Argument(help="Catalogue entries written by `schedbench profile -o` (or any catalogue fragment)."),
    ],
    into: Annotated[
        Path | None,
        typer.Option(
            "--into",
            help="The catalogue file to extend (default: the user "
            "catalogue, $SCHEDBENCH_USER_CATALOGUE or "
            "~/.local/share/schedbench/catalogue.json).",
        ),
    ] = None,
    replace_measured: Annotated[
        bool, typer.Option("--replace", help="Let a new measurement overwrite one already there.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
) -> int:
    """Merge profiled entries into your catalogue, which extends the shipped one for every command and
    generator (docs/profile.md)."""
    return merge_body(fragments, into, replace_measured, as_json)


__all__ = ["command_line", "merge", "merge_body", "profile", "profile_body"]
