"""Cluster state of the online simulator: free GPUs per node, indexed by free count per GPU type.

A GPU runs one job at a time (exclusive use). Gangs are consolidated on one node when some node of
the type has room (best fit: the node with the fewest free GPUs that still fits), else spread over
the nodes with the most free GPUs first when the instance allows multi-node gangs. Every operation
is O(node size) at worst, never a scan of the cluster: the non-empty free counts of each type are a
sorted list, and the nodes with a given free count an insertion-ordered dict (deterministic).
"""

from __future__ import annotations

from bisect import bisect_left, insort

from schedbench.instances.model import Instance


class Cluster:
    """Free GPUs of a cluster; public reads, private updates (only the simulator changes it).

    Attributes:
        gpu_ids: GPU ids, by GPU index.
        type_ids: GPU type ids, by type index.
        gpu_type: type index of each GPU.
        gpu_node: node index of each GPU.
        node_type: type index of each node.
        total: GPUs per type.
        free: free GPUs per type (kept current).
        multi_node: gangs may span nodes.
    """

    def __init__(self, inst: Instance, multi_node: bool) -> None:
        self.gpu_ids: tuple[str, ...] = inst.gpu_ids
        self.type_ids: tuple[str, ...] = inst.type_ids
        self.gpu_type: list[int] = inst.gpu_type.tolist()
        self.gpu_node: list[int] = inst.gpu_node.tolist()
        self.node_type: list[int] = [inst.type_index[nd.gpu_type] for nd in inst.nodes]
        T = len(self.type_ids)
        self.total: list[int] = inst.gpus_per_type.tolist()
        self.free: list[int] = list(self.total)
        self.multi_node = multi_node
        self.version = 0  # bumped on every change: lets policies cache what they computed from the state
        self._busy = bytearray(len(self.gpu_ids))
        self._node_free: list[list[int]] = []
        self._bucket: list[dict[int, dict[int, None]]] = [{} for _ in range(T)]
        self._counts: list[list[int]] = [[] for _ in range(T)]
        start = 0
        for k, nd in enumerate(inst.nodes):
            size = len(nd.gpus)
            self._node_free.append(list(range(start + size - 1, start - 1, -1)))  # pop() gives the lowest
            start += size
            self._add(self.node_type[k], size, k)

    # ------------------------------------------------------------------ reads
    def is_free(self, g: int) -> bool:
        """Whether GPU ``g`` is free."""
        return not self._busy[g]

    def node_free(self, k: int) -> int:
        """Free GPUs on node ``k``."""
        return len(self._node_free[k])

    def largest_free_block(self, t: int) -> int:
        """Most free GPUs on one node of type ``t`` (all free GPUs of the type when multi-node)."""
        if self.multi_node:
            return self.free[t]
        c = self._counts[t]
        return c[-1] if c else 0

    def fits(self, t: int, gang: int) -> bool:
        """Whether a gang of ``gang`` GPUs of type ``t`` can start now."""
        if self.multi_node:
            return self.free[t] >= gang
        c = self._counts[t]
        return bool(c) and c[-1] >= gang

    # ------------------------------------------------------------------ updates (simulator only)
    def _add(self, t: int, count: int, k: int) -> None:
        if count == 0:
            return
        b = self._bucket[t].get(count)
        if b is None:
            self._bucket[t][count] = {k: None}
            insort(self._counts[t], count)
        else:
            b[k] = None

    def _remove(self, t: int, count: int, k: int) -> None:
        if count == 0:
            return
        b = self._bucket[t][count]
        del b[k]
        if not b:
            del self._bucket[t][count]
            c = self._counts[t]
            del c[bisect_left(c, count)]

    def _take_from(self, k: int, m: int) -> list[int]:
        self.version += 1
        t = self.node_type[k]
        nf = self._node_free[k]
        before = len(nf)
        self._remove(t, before, k)
        got = nf[before - m :]
        del nf[before - m :]
        self._add(t, before - m, k)
        busy = self._busy
        for g in got:
            busy[g] = 1
        self.free[t] -= m
        return got

    def _take(self, t: int, gang: int) -> list[int] | None:
        """Take ``gang`` GPUs of type ``t``: one node (best fit) if possible, else spread when
        multi-node gangs are allowed. None when they do not fit."""
        c = self._counts[t]
        i = bisect_left(c, gang)
        if i < len(c):
            k = next(iter(self._bucket[t][c[i]]))
            return sorted(self._take_from(k, gang))
        if not self.multi_node or self.free[t] < gang:
            return None
        got: list[int] = []
        need = gang
        while need:
            count = c[-1]
            k = next(iter(self._bucket[t][count]))
            m = min(count, need)
            got.extend(self._take_from(k, m))
            need -= m
        return sorted(got)

    def _check_gpus(self, gpus: list[int], gang: int) -> str | None:
        """Why the explicit GPU list cannot host a gang of ``gang`` now (None: it can)."""
        if len(set(gpus)) != len(gpus):
            return "a GPU is listed twice"
        if len(gpus) != gang:
            return f"{len(gpus)} GPU(s) given for a gang of {gang}"
        busy = [self.gpu_ids[g] for g in gpus if self._busy[g]]
        if busy:
            return f"GPU(s) {busy} are busy"
        if len({self.gpu_type[g] for g in gpus}) != 1:
            return "the GPUs are of several types"
        if not self.multi_node and len({self.gpu_node[g] for g in gpus}) != 1:
            return "the GPUs are on several nodes and allow_multi_node is false"
        return None

    def _take_gpus(self, gpus: list[int]) -> None:
        """Take exactly these (checked, free) GPUs."""
        self.version += 1
        by_node: dict[int, set[int]] = {}
        for g in gpus:
            by_node.setdefault(self.gpu_node[g], set()).add(g)
        for k, gs in by_node.items():
            t = self.node_type[k]
            nf = self._node_free[k]
            before = len(nf)
            self._remove(t, before, k)
            nf[:] = [g for g in nf if g not in gs]
            self._add(t, len(nf), k)
            for g in gs:
                self._busy[g] = 1
            self.free[t] -= len(gs)

    def _give(self, gpus: list[int]) -> None:
        """Free these GPUs."""
        self.version += 1
        busy = self._busy
        node = self.gpu_node
        i, m = 0, len(gpus)
        while i < m:  # one bucket move per run of GPUs on the same node (same end state as one per GPU)
            k = node[gpus[i]]
            e = i + 1
            while e < m and node[gpus[e]] == k:
                e += 1
            t = self.node_type[k]
            nf = self._node_free[k]
            before = len(nf)
            self._remove(t, before, k)
            for g in gpus[i:e]:
                nf.append(g)
                busy[g] = 0
            self._add(t, before + e - i, k)
            self.free[t] += e - i
            i = e
