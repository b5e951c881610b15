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


#: On-demand price per GPU-hour (USD) used for per-type job costs. K80, P100, V100 and T4 are
#: Google Cloud's published on-demand GPU prices (us-central1) as quoted in public price
#: catalogues; the other GPUs have no cited price here and are *derived*: the V100 price scaled by
#: the ratio of datasheet peak FP32 TFLOP/s (an estimate; say so wherever costs matter).
CITED_PRICES = {"K80": 0.45, "P100": 1.46, "V100": 2.48, "T4": 0.35}
PRICE_SOURCE = ("Google Cloud on-demand GPU prices, us-central1 (cloud.google.com/compute/gpus-pricing), "
                "as quoted in public price catalogues")


def gpu_price(gpu: str, peak_tflops: float | None, v100_tflops: float) -> tuple[float | None, str]:
    """(price per GPU-hour, provenance) for a GPU id: cited when known, else derived from TFLOP/s."""
    if gpu in CITED_PRICES:
        return CITED_PRICES[gpu], f"cited: {PRICE_SOURCE}"
    if peak_tflops:
        price = round(CITED_PRICES["V100"] * peak_tflops / v100_tflops, 4)
        return price, f"derived: V100 price x peak FP32 TFLOP/s ratio ({peak_tflops} / {v100_tflops})"
    return None, "unknown"
