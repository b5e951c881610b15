"""A tiny external placement solver for the command-solver tests: first fit, standard library only.

Usage: first_fit.py INSTANCE SOLUTION [--time-limit S] [--seed N] [--order decreasing|input]

It reads the instance JSON (schedbench/instance/1) directly, as a program in any language would,
takes the jobs in decreasing size (gang x largest demand/capacity ratio; ``--order input`` keeps
the file's order), places each on the first node (in cluster order) with ``gang`` GPUs of an
eligible type that still have room for it, and writes
``{"problem": "placement", "assignment": ..., "status": ...}`` (status ``unknown`` when a job that
had to be placed was not).
"""

import argparse
import json
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("instance")
    ap.add_argument("solution")
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--order", choices=("decreasing", "input"), default="decreasing")
    args = ap.parse_args()
    with open(args.instance, encoding="utf-8") as f:
        inst = json.load(f)
    if inst["problem"]["class"] != "placement":
        print(f"first_fit: cannot solve class {inst['problem']['class']!r}", file=sys.stderr)
        return 3
    resources = [r["id"] for r in inst["resources"]]
    cap = {t["id"]: [t["capacity"][r] for r in resources] for t in inst["gpu_types"]}
    jobs = inst["jobs"]
    ids = jobs["id"]
    gangs = jobs.get("gang", [1] * len(ids))
    per_type = jobs["per_type"]
    load = {g: [0.0] * len(resources) for node in inst["cluster"]["nodes"] for g in node["gpus"]}

    def size(j: int) -> float:
        ratios = [
            per_type[t]["demand"][r][j] / cap[t][i]
            for t in per_type
            if per_type[t]["eligible"][j]
            for i, r in enumerate(resources)
            if cap[t][i] > 0
        ]
        return gangs[j] * max(ratios, default=0.0)

    order = list(range(len(ids)))
    if args.order == "decreasing":
        order.sort(key=lambda j: -size(j))
    assignment = {}
    for j in order:
        placed = None
        for node in inst["cluster"]["nodes"]:
            t = node["gpu_type"]
            if not per_type[t]["eligible"][j]:
                continue
            dem = [per_type[t]["demand"][r][j] for r in resources]
            room = [
                g
                for g in node["gpus"]
                if all(load[g][i] + dem[i] <= cap[t][i] * (1 + 1e-10) for i in range(len(resources)))
            ]
            if len(room) >= gangs[j]:
                placed = room[: gangs[j]]
                for g in placed:
                    load[g] = [load[g][i] + dem[i] for i in range(len(resources))]
                break
        assignment[ids[j]] = placed
    every = all(v is not None for v in assignment.values())
    status = "feasible" if every or inst["problem"]["objective"] == "max-weight" else "unknown"
    with open(args.solution, "w", encoding="utf-8") as f:
        json.dump({"problem": "placement", "assignment": assignment, "status": status}, f)
    print(f"first_fit: placed {sum(v is not None for v in assignment.values())} of {len(ids)} jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
