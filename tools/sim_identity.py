"""Event-log identity check for speed work on the online simulator.

Run: ``python tools/sim_identity.py --save DIR`` before changing the engine or the policies,
then ``python tools/sim_identity.py --check DIR`` after: every policy's event log (and its
status and counters) must be byte-identical to the saved one. Fixed instances cover gangs, two or
more GPU types, preemption with overheads (``helios``), multi-node gangs, deadlines, admission
control and the noisy and history predictors. A SHA-256 of each canonical JSON log is stored (the
logs themselves are large); ``--check`` names every case that differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from schedbench.generators import generate
from schedbench.generators.presets import resolve
from schedbench.instances import Instance
from schedbench.simulator import QueuePolicy, SimulationResult, Simulator

POLICIES: dict[str, tuple[str, dict[str, Any]]] = {
    "fcfs": ("fifo", {}),
    "fcfs-easy": ("fifo", {"backfill": "easy"}),
    "sjf": ("pred", {}),
    "srpt": ("remaining", {}),
    "edf": ("deadline", {}),
    "edf-pre": ("deadline", {"preemptive": True}),
    "priority": ("weight", {}),
    "las": ("attained", {"quantum": 600.0}),
    "tiresias": ("tiresias", {"thresholds": "3600,36000"}),
    "srpt-qlen": ("remaining", {"admission": "queue-length", "max_queue": 40}),
    "sjf-waitdl": ("pred", {"admission": "wait-deadline"}),
    "fcfs-erlang": ("fifo", {"admission": "wait-deadline", "wait_estimate": "erlang-c"}),
}


def instances() -> dict[str, Instance]:
    """name -> online instance (fixed seeds)."""
    out = {}
    pp = {"overhead_model": "helios"}
    out["gavel"] = generate(
        "online",
        {
            **resolve("online", "gavel-online", {}),
            "jobs": 1500,
            "load": 1.3,
            "deadline_slack": [1.5, 6.0],
            "problem_params": pp,
        },
        seed=3,
    )
    out["hetero"] = generate(
        "online",
        {
            **resolve("online", "hetero-online", {}),
            "jobs": 1500,
            "load": 1.2,
            "problem_params": {**pp, "allow_multi_node": True},
        },
        seed=5,
    )
    params = resolve("online", "philly-1024", {"jobs": 4000, "load": 0.95})
    params["cluster"] = [
        {"gpu_type": "V100", "nodes": 16, "gpus_per_node": 8},
        {"gpu_type": "K80", "nodes": 8, "gpus_per_node": 8},
    ]
    params["problem_params"] = {"overhead_model": "lucid"}
    params["deadline_slack"] = [1.2, 4.0]
    out["philly"] = generate("online", params, seed=7)
    return out


def cases() -> Iterator[tuple[str, Instance, str, dict[str, Any], str]]:
    for iname, inst in instances().items():
        for pname, (key, kw) in POLICIES.items():
            for pred in ("oracle", "noisy", "history"):
                if pred == "history" and pname not in ("sjf", "srpt", "las"):
                    continue
                yield f"{iname}/{pname}/{pred}", inst, key, kw, pred
    # the speed benchmark's instance and policies (benchmarks/bench_simulator.py), 20k jobs
    bench = generate(
        "online",
        {
            **resolve("online", "philly-1024", {"jobs": 20_000, "load": 0.9}),
            "cluster": [{"gpu_type": "V100", "nodes": 128, "gpus_per_node": 8}],
        },
        seed=0,
    )
    for pname, key, kw in (
        ("fcfs", "fifo", {}),
        ("fcfs-easy", "fifo", {"backfill": "easy"}),
        ("sjf", "pred", {}),
        ("srpt", "remaining", {}),
        ("las", "attained", {"quantum": 3600.0}),
        ("tiresias", "tiresias", {}),
    ):
        yield f"bench20k/{pname}/oracle", bench, key, kw, "oracle"


def digest(res: SimulationResult) -> dict[str, Any]:
    blob = json.dumps(res.events, sort_keys=True, separators=(",", ":")).encode()
    return {
        "sha256": hashlib.sha256(blob).hexdigest(),
        "events": len(res.events),
        "status": res.status,
        "preemptions": res.preemptions,
        "migrations": res.migrations,
        "rejections": res.rejections,
        "wasted": repr(res.wasted_gpu_seconds),
        "stuck": res.stuck,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path)
    g.add_argument("--check", type=Path)
    a = ap.parse_args()
    got = {}
    t0 = time.perf_counter()
    for name, inst, key, kw, pred in cases():
        res = Simulator(inst, QueuePolicy(key, **kw), predictor=pred, sigma=0.7, seed=11).run()
        got[name] = digest(res)
    print(f"{len(got)} cases in {time.perf_counter() - t0:.1f} s")
    if a.save:
        a.save.mkdir(parents=True, exist_ok=True)
        (a.save / "digests.json").write_text(json.dumps(got, indent=1, sort_keys=True))
        return
    ref = json.loads((a.check / "digests.json").read_text())
    bad = [k for k in ref if ref[k] != got.get(k)]
    for k in bad:
        print(f"DIFFERS: {k}: {ref[k]} != {got.get(k)}")
    print("identical" if not bad else f"{len(bad)} of {len(ref)} differ")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
