"""Cluster presets and explicit cluster specs.

A cluster spec is a list of node groups ``{"gpu_type": ID, "nodes": N, "gpus_per_node": G}``;
GPU type ids are catalogue GPU ids, and the GPU types' capacities, prices and peak TFLOP/s come
from the catalogue's GPU specs. Nodes are named ``<type>-n<k>`` and GPUs ``<type>-n<k>/<g>``.

Presets:

* ``gavel``: the heterogeneous cluster of Gavel's simulations, 36 K80 + 36 P100 + 36 V100 GPUs,
  4 GPUs a node (Narayanan et al., OSDI 2020, section 7).
* ``modern``: a mixed cluster of current data-centre GPUs, 8 GPUs a node: 4 nodes of A100 80GB
  SXM4, 2 of H100 80GB SXM5 and 2 of A10 (64 GPUs). An illustrative shape, not a measured cluster.
  A10 stands in for the T4 of the issue text: no source in the catalogue measured a T4, so T4
  nodes could run nothing.
* ``alibaba-openb``: the GPU nodes of Alibaba's cluster-trace-gpu-v2023 (Weng et al., ATC 2023),
  node counts per GPU model and GPUs per node as listed in its node file (shipped in the trace
  fits); GPU models the catalogue does not know are left out, and say so in the metadata.
* ``tiny``: 2 nodes of 2 V100 and 2 nodes of 2 K80, for tests and smoke suites.

``scale`` multiplies every group's node count (rounded, at least 1 node a group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schedbench.instances.model import Node


@dataclass(frozen=True)
class NodeGroup:
    """``nodes`` nodes of ``gpus_per_node`` GPUs of type ``gpu_type``."""

    gpu_type: str
    nodes: int
    gpus_per_node: int


PRESETS: dict[str, tuple[NodeGroup, ...]] = {
    "gavel": (NodeGroup("K80", 9, 4), NodeGroup("P100", 9, 4), NodeGroup("V100", 9, 4)),
    "modern": (NodeGroup("A100-SXM4-80GB", 4, 8), NodeGroup("H100-SXM5-80GB", 2, 8), NodeGroup("A10", 2, 8)),
    "tiny": (NodeGroup("V100", 2, 2), NodeGroup("K80", 2, 2)),
}


def cluster_groups(spec: Any, alibaba_groups: tuple[NodeGroup, ...] | None = None) -> tuple[NodeGroup, ...]:
    """Node groups of a preset name or an explicit list of group mappings.

    Raises:
        ValueError: describing what was expected.
    """
    if isinstance(spec, str):
        if spec == "alibaba-openb":
            if not alibaba_groups:
                raise ValueError("the alibaba-openb preset needs the shipped node list summary")
            return alibaba_groups
        if spec not in PRESETS:
            raise ValueError(f"a cluster preset {sorted([*PRESETS, 'alibaba-openb'])} or a list of node groups")
        return PRESETS[spec]
    if not isinstance(spec, list) or not spec:
        raise ValueError("a cluster preset name or a non-empty list of {gpu_type, nodes, gpus_per_node}")
    groups = []
    for item in spec:
        if not isinstance(item, dict) or set(item) != {"gpu_type", "nodes", "gpus_per_node"}:
            raise ValueError("node groups with exactly the keys gpu_type, nodes, gpus_per_node")
        nodes, per = item["nodes"], item["gpus_per_node"]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (nodes, per)):
            raise ValueError("positive integers for nodes and gpus_per_node")
        groups.append(NodeGroup(str(item["gpu_type"]), nodes, per))
    return tuple(groups)


def scale_groups(groups: tuple[NodeGroup, ...], scale: float) -> tuple[NodeGroup, ...]:
    """Multiply node counts by ``scale`` (rounded half up, at least 1)."""
    return tuple(NodeGroup(g.gpu_type, max(1, int(g.nodes * scale + 0.5)), g.gpus_per_node) for g in groups)


def build_nodes(groups: tuple[NodeGroup, ...]) -> tuple[Node, ...]:
    """Nodes with stable ids: ``<type>-n<k>`` numbered per type across groups, GPUs ``<node>/<g>``."""
    counter: dict[str, int] = {}
    nodes = []
    for g in groups:
        for _ in range(g.nodes):
            k = counter.get(g.gpu_type, 0)
            counter[g.gpu_type] = k + 1
            nid = f"{g.gpu_type}-n{k}"
            nodes.append(Node(nid, g.gpu_type, tuple(f"{nid}/{i}" for i in range(g.gpus_per_node))))
    return tuple(nodes)


@dataclass(frozen=True)
class Price:
    """A cited on-demand list price of one GPU (USD per GPU-hour, the GPU alone, no VM)."""

    usd_per_hour: float
    source: str
    date: str


_GCP_GAVEL = (
    "Google Cloud Compute Engine on-demand GPU price, us-central1 (cloud.google.com/compute/gpus-pricing), "
    "as used by Gavel (Narayanan et al., OSDI 2020) for its cost policies"
)
_GCP_SKY = (
    "Google Cloud Compute Engine on-demand GPU price (GPU SKU alone, without the VM), us-central1, as "
    "listed in skypilot-org/skypilot-catalog catalogs/v5/gcp/vms.csv at commit 0129130f"
)

#: Cited on-demand prices per GPU type. A GPU type missing here has **no price**: instances on a
#: cluster with such a type carry no cost and the cost objectives (placement ``min-cost``, min-gpus
#: with ``measure=cost``) are refused for it. Prices are never derived from peak FLOP/s (version 1
#: did, and priced an A10 above an A100 while 3.2x slower). The GCP A100 40 GB is the SXM4 part and
#: has no catalogue GPU type (the catalogue's 40 GB A100 is the PCIe card), so it is not used.
CITED_PRICES: dict[str, Price] = {
    "K80": Price(0.45, _GCP_GAVEL, "2020 (Gavel's published cost table)"),
    "P100": Price(1.46, _GCP_GAVEL, "2020 (Gavel's published cost table)"),
    "V100": Price(2.48, _GCP_GAVEL, "2020 (Gavel's published cost table)"),
    "T4": Price(0.35, _GCP_GAVEL, "2020 (Gavel's published cost table)"),
    "A100-SXM4-80GB": Price(
        3.92808, _GCP_SKY + " (GPU type A100-80GB, a2-ultragpu)", "catalogue snapshot read 2026-12-02"
    ),
    "H100-SXM5-80GB": Price(
        9.79655,
        _GCP_SKY + " (GPU type H100, a3-highgpu-8g: 78.3724 USD/h for 8 GPUs)",
        "catalogue snapshot read 2026-12-02",
    ),
}


def gpu_price(gpu: str) -> tuple[float | None, str]:
    """(price per GPU-hour, provenance text): a cited price, or (None, "none: ...")."""
    p = CITED_PRICES.get(gpu)
    if p is None:
        return None, "none: no cited on-demand price for this GPU type (cost objectives are not offered)"
    return p.usd_per_hour, f"cited: {p.source}; date: {p.date}"
