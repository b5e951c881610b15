"""One colour per solver, the same in every figure and on every page.

Built-in solvers have fixed slots of matplotlib's ``tab20`` palette (in the order below); the
online policies fixed slots among its ten strong colours (they never share a figure with the
offline solvers); any other name (plugins; ``name@version`` / ``name[k=v]`` labels fall back to
their base name first) gets a slot from a stable hash of the name (crc32, not Python's salted
``hash``).
"""

from __future__ import annotations

import re
import zlib

#: tab20, as hex (no matplotlib import needed to pick a colour).
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)
BUILTIN = (
    "ilp-highs",
    "cpsat",
    "sa",
    "ga",
    "lp-round",
    "list-ect",
    "regret",
    "greedy-bestfit",
    "ffd",
    "bfd",
    "wspt",
    "edd",
    "waterfill",
    "lp-allocation",
    "convex-allocation",
    "convex-qp-wspt",
    "ilp-pyomo",
    "random-feasible",
)
#: Online policies (their own figures: JCT CDFs, load sweeps) take the first ten strong colours in this order.
POLICIES = ("fcfs", "srpt", "las", "tiresias", "sjf", "fcfs-easy", "edf", "priority", "gavel", "themis")
_BASE = re.compile(r"[@\[#].*$")


def solver_color(label: str) -> str:
    """The colour of a solver label (hex)."""
    base = _BASE.sub("", label)
    if label in POLICIES:
        return PALETTE[POLICIES.index(label)]
    if base in BUILTIN and base == label:
        return PALETTE[BUILTIN.index(base)]
    key = base if base in BUILTIN else label
    slot = BUILTIN.index(base) if base in BUILTIN else zlib.crc32(key.encode()) % len(PALETTE)
    if base != label:  # a variant of a name: shift by the variant's hash, away from the base's slot
        slot = (slot + 1 + zlib.crc32(label.encode()) % (len(PALETTE) - 1)) % len(PALETTE)
    return PALETTE[slot]


def colors_for(labels: list[str]) -> dict[str, str]:
    """Colours of several labels."""
    return {label: solver_color(label) for label in labels}
