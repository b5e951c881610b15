"""A deliberately slow, deterministic placement solver for the campaign kill-and-resume test."""

import time
from typing import ClassVar

from schedbench import Param, Solver, SolveResult


class SlowFirstFit(Solver):
    name = "slow-first-fit"
    family = "baseline"
    problems: ClassVar = {
        "placement": ("max-weight",),
        "batch": ("makespan", "weighted-completion", "weighted-tardiness"),
    }
    params = (Param("sleep", float, 0.3, "seconds to sleep before answering", minimum=0.0),)
    description = "test plugin: sleeps, then answers with an empty placement or a serial schedule"

    def solve(self, instance, context):
        time.sleep(context.params["sleep"])
        if instance.problem.cls == "placement":
            return SolveResult({"problem": "placement", "assignment": {}}, status="feasible")
        # batch: every job alone, one after the other, on the first GPUs of a node it can use
        schedule, t = {}, 0.0
        jobs = instance.jobs
        for j, jid in enumerate(jobs.ids):
            for node in instance.nodes:
                k = instance.type_index[node.gpu_type]
                if jobs.eligible[j, k] and len(node.gpus) >= jobs.gang[j]:
                    start = max(t, float(jobs.release[j]))
                    schedule[jid] = {"gpus": list(node.gpus[: jobs.gang[j]]), "start": start}
                    t = start + float(jobs.time[j, k])
                    break
        return SolveResult({"problem": "batch", "schedule": schedule}, status="feasible")
