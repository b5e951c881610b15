"""Unrelated parallel machines, makespan (R||Cmax): the Fanjul-Peyro & Ruiz instance files.

Format (a token stream): ``n m 1``; ``m``; then ``n`` job lines ``0 p0 1 p1 ... (m-1) p(m-1)`` of
(machine index, processing time) pairs. The pairs of a line may come in any machine order; each
machine must appear exactly once per line.

Mapping to schedbench (class ``batch``, objective ``makespan``): one resource ``compute``; machine
``i`` becomes GPU type ``m<i>`` (capacity 1) and node ``m<i>`` holding one GPU ``m<i>``; job ``k``
(0-based, file order) becomes ``j<k>``, gang 1, demand 1, eligible everywhere, with
``time[k, i] = p``. Name: ``<folder>-<stem>``, e.g. ``instancias1a100-1011``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from schedbench.importers._tokens import Tokens, file_stem, integer, known_entry, known_table, plain_name, read_table
from schedbench.instances.io import make_instance
from schedbench.instances.model import GpuType, Instance, Jobs, Node, Problem, Resource

CITATION = (
    "L. Fanjul-Peyro & R. Ruiz, Iterated greedy local search methods for unrelated parallel machine "
    "scheduling, Eur. J. Oper. Res. 207(1) 55-69, 2010; best-known values from E. Åblad, A.-B. Strömberg & "
    "D. Spensieri, Exact makespan minimization of unrelated parallel machines, Open J. Math. Optim. 2, 2021 (MIT)."
)

#: Folder names whose rows in ``best_known.csv`` carry another ``type``.
FOLDER_TYPES = {"instancias1a100": "U1a100"}


def instance_name(path: Path) -> str:
    """``<parent folder>-<file stem>`` (just the stem for a file without a named parent)."""
    return f"{path.parent.name}-{file_stem(path)}" if path.parent.name else file_stem(path)


def _row(path: Path) -> dict[str, str] | None:
    rows = read_table(path.parent.parent / "best_known.csv")
    if rows is None:
        return None
    folder = path.parent.name
    kind = FOLDER_TYPES.get(folder, folder)
    return next((r for r in rows if r.get("type") == kind and r.get("instance") == file_stem(path)), None)


def known_values(path: str | Path) -> dict[str, dict[str, Any]] | None:
    """Published values for an R||Cmax file, as ``{name: values}``.

    Read from ``best_known.csv`` one folder above the file's folder (row ``type`` = the folder's
    name, ``instancias1a100`` listed as ``U1a100``; ``instance`` = the file stem): ``best_known`` =
    ``best_known_cmax``, also ``optimum`` when ``proven_optimal`` is 1. None when missing.
    """
    path = Path(path)
    row = _row(path)
    if row is None:
        return None
    value = integer(row.get("best_known_cmax"))
    proven = row.get("proven_optimal") == "1"
    entry = known_entry(
        "best_known.csv (best_known_cmax, proven_optimal; Åblad et al. 2021)",
        optimum=value if proven else None,
        best_known=value,
    )
    return None if entry is None else {instance_name(path): entry}


def _first_bad_index(row: list[int], m: int) -> int:
    """Position of the first machine index out of range or repeated within a job line."""
    seen: set[int] = set()
    for col, value in enumerate(row):
        if not 0 <= value < m or value in seen:
            return col
        seen.add(value)
    raise AssertionError("no bad machine index")  # pragma: no cover


def read_rcmax(path: str | Path, *, known: Any = True) -> list[Instance]:
    """Read one R||Cmax file into one ``batch``/``makespan`` instance.

    Args:
        path: the file (plain or gzipped).
        known: True to attach the values of ``best_known.csv`` (see :func:`known_values`), False
            for none, or a mapping instance name -> values dict.

    Raises:
        InputError: a malformed file, naming the token and line.
    """
    path = Path(path)
    name = instance_name(path)
    values = known_table(known, lambda: known_values(path))
    tok = Tokens.read(path)
    n = tok.one("number of jobs n (line 1)", minimum=1)
    m = tok.one("number of machines m (line 1)", minimum=1)
    flag = tok.one("the third field of line 1")
    if flag != 1:
        raise tok.error(tok.pos - 1, "1 (the third field of line 1)", str(flag))
    m2 = tok.one("number of machines (line 2)")
    if m2 != m:
        raise tok.error(tok.pos - 1, f"{m} (the number of machines, repeated on line 2)", str(m2))
    start = tok.pos
    block = tok.take(2 * m * n, f"{n} job lines of {m} (machine, time) pairs").reshape(n, m, 2)
    tok.expect_end(f"after the {n} job lines")
    idx, p = block[:, :, 0], block[:, :, 1]
    expected = np.arange(m)
    if not (idx == expected).all():
        order = np.argsort(idx, axis=1, kind="stable")
        ranked = np.take_along_axis(idx, order, axis=1)
        bad_rows = np.flatnonzero((ranked != expected).any(axis=1))
        if len(bad_rows):
            j = int(bad_rows[0])
            col = _first_bad_index(idx[j].tolist(), m)
            raise tok.error(
                start + 2 * (j * m + col),
                f"a machine index in 0..{m - 1} not yet used on job line {j + 1}",
                str(int(idx[j, col])),
            )
        p = np.take_along_axis(p, order, axis=1)
    if p.min() < 1:
        flat = np.flatnonzero((block[:, :, 1] < 1).ravel())[0]
        raise tok.error(start + 2 * int(flat) + 1, "a processing time >= 1", str(int(block[:, :, 1].ravel()[flat])))
    entry = values.get(name)
    notes: list[str] = []
    if entry is not None and known is True:
        row_ = _row(path) or {}
        if (integer(row_.get("n")), integer(row_.get("m"))) not in ((n, m), (None, None)):
            notes.append(f"best_known.csv lists n={row_.get('n')}, m={row_.get('m')}; values not attached")
            entry = None
    machines = [f"m{i}" for i in range(m)]
    jobs = Jobs.build([f"j{k}" for k in range(n)], np.ones((n, m, 1)), time=p.astype(np.float64))
    metadata: dict[str, Any] = {
        "name": name,
        "description": f"Unrelated parallel machines, makespan (R||Cmax): {n} jobs, {m} machines; "
        f"file {path.parent.name}/{plain_name(path)}.",
        "source": {"citation": CITATION, "format": "rcmax", "file": plain_name(path), "set": path.parent.name},
    }
    if entry:
        metadata["known"] = entry
    if notes:
        metadata["notes"] = notes
    metadata["tags"] = ["rcmax"]
    return [
        make_instance(
            resources=[Resource("compute", "")],
            gpu_types=[GpuType(t, {"compute": 1.0}) for t in machines],
            nodes=[Node(t, t, (t,)) for t in machines],
            jobs=jobs,
            problem=Problem("batch", "makespan"),
            metadata=metadata,
        )
    ]
