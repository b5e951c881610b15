"""Named generator parameter sets (``schedbench generate CLASS --preset NAME``).

Each maps to ``(class, params)``; ``--param`` values given with a preset override it.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "gap-like": ("placement", {"objective": "min-cost", "cluster": "gavel", "tightness": 0.8, "jobs": 200}),
    "packing": ("placement", {"objective": "min-gpus", "cluster": "modern", "tightness": 0.9, "jobs": 200}),
    "knapsack": ("placement", {"objective": "max-weight", "cluster": "gavel", "oversubscription": 1.5, "jobs": 200,
                               "weights": {"1": 2, "2": 1, "4": 1}}),
    "gavel-makespan": ("batch", {"objective": "makespan", "cluster": "gavel", "mix": "gavel", "jobs": 200}),
    "weighted-completion": ("batch", {"objective": "weighted-completion", "cluster": "gavel", "arrival_load": 0.9,
                                      "weights": {"1": 1, "2": 1, "4": 1}, "jobs": 200}),
    "tardiness": ("batch", {"objective": "weighted-tardiness", "cluster": "gavel", "arrival_load": 0.8,
                            "deadline_slack": [1.2, 3.0], "jobs": 200}),
    "gavel-fairness": ("allocation", {"objective": "max-min-fairness", "cluster": "gavel", "mix": "gavel",
                                      "jobs": 100}),
    "gavel-online": ("online", {"objective": "mean-jct", "cluster": "gavel", "mix": "gavel", "load": 0.8,
                                "jobs": 1000}),
    "modern-online": ("online", {"objective": "mean-jct", "cluster": "modern", "load": 0.8, "jobs": 1000}),
}
