"""A fresh process for one measurement: ``python -m schedbench.profiler.worker`` (request on stdin).

Used by ``schedbench profile`` on CPU (``--isolate``, the default there), so that each batch size's
peak resident memory is that of a process which measured nothing else. Protocol: one JSON request
on stdin (:func:`request`); JSON lines on stdout: ``{"event": "progress", "phase", "done", "total"}``,
then ``{"event": "result", "measurement": {...}}`` or ``{"event": "error", "message": "..."}`` (exit
status 1). Anything the model prints goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from typing import Any

from schedbench.profiler import OutOfMemoryError, ProfileError
from schedbench.profiler.workloads import TensorSpec, Workload


def request(
    workload: Workload, batch_size: int, *, device: str, steps: int, warmup: int, seed: int, threads: int | None
) -> dict[str, Any]:
    """The JSON request for one measurement."""
    return {
        "workload": asdict(workload),
        "batch_size": batch_size,
        "device": device,
        "steps": steps,
        "warmup": warmup,
        "seed": seed,
        "threads": threads,
        "cwd": os.getcwd(),
    }


def workload_from_dict(d: dict[str, Any]) -> Workload:
    """The :class:`Workload` a parent process sent as a dict."""
    inputs = tuple(TensorSpec(s["dtype"], tuple(s["shape"]), s["high"]) for s in d["inputs"])
    return Workload(**{**d, "inputs": inputs})


def main() -> int:
    """Entry point of the isolated measurement process; returns its exit status."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout = sys.stderr  # keep the protocol channel clean of the model's prints

    def emit(doc: dict[str, Any]) -> None:
        proto.write(json.dumps(doc, allow_nan=False) + "\n")

    try:
        req = json.loads(sys.stdin.read())
        if req.get("cwd") and req["cwd"] not in sys.path:
            sys.path.insert(0, req["cwd"])
        from schedbench.profiler import require_torch

        require_torch()
        from schedbench.profiler.measure import measure

        m = measure(
            workload_from_dict(req["workload"]),
            req["batch_size"],
            device=req["device"],
            steps=req["steps"],
            warmup=req["warmup"],
            seed=req["seed"],
            threads=req["threads"],
            isolated=True,
            progress=lambda phase, done, total: emit(
                {"event": "progress", "phase": phase, "done": done, "total": total}
            ),
        )
    except ProfileError as exc:
        emit({"event": "error", "message": str(exc), "out_of_memory": isinstance(exc, OutOfMemoryError)})
        return 1
    emit({"event": "result", "measurement": m.to_dict()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
