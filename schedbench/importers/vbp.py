"""Vector bin packing: VPSolver ``.vbp`` files (the Panigrahy et al. classes).

Format (a token stream): ``d``; ``d`` bin capacities; ``n``; then ``n`` item lines
``w1 ... wd q`` where ``q`` is a multiplicity (the line stands for ``q`` identical items). The
header's ``n`` is trusted: anything after the ``n``-th item line is ignored (and noted in the
metadata); Panigrahy class 9 files hold one item more than their file name says.

Mapping to schedbench (class ``placement``, objective ``min-gpus``): resources ``d0 .. d<d-1>``; one
GPU type ``bin`` with the bin capacities; one node ``b<i>`` with one GPU ``b<i>`` per item (as many
bins as items, always enough); item ``k`` (after expanding multiplicities, file order) becomes
``j<k>``, gang 1. Name: the file stem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from schedbench.importers._tokens import Tokens, file_stem, integer, known_entry, known_table, plain_name, read_table
from schedbench.instances.io import make_instance
from schedbench.instances.model import GpuType, Instance, Jobs, Node, Problem, Resource

CITATION = (
    "R. Panigrahy, K. Talwar, L. Uyeda & U. Wieder, Heuristics for vector bin packing, Microsoft Research, "
    "2011; VPSolver format (F. Brandão & J. P. Pedroso, 2016); files and values from C. Mommessin, T. Erlebach "
    "& N. V. Shakhlevich, Classification and evaluation of the algorithms for vector bin packing, "
    "Comput. Oper. Res., 2025 (MIT)."
)
VALUES_FILE = "Panigrahy_summary_known.tsv"
#: Largest number of items (after multiplicities) an import accepts: each becomes a job and a bin.
MAX_ITEMS = 1_000_000


def _row(path: Path) -> dict[str, str] | None:
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
        rows = read_table(folder / VALUES_FILE, delimiter="\t")
        if rows is not None:
            return next((r for r in rows if r.get("instance_name") == file_stem(path)), None)
    return None


def known_values(path: str | Path) -> dict[str, dict[str, Any]] | None:
    """Published values for a ``.vbp`` file, as ``{name: values}``.

    Read from ``Panigrahy_summary_known.tsv`` in the file's folder or up to two folders above it
    (row ``instance_name`` = the file stem): ``lower_bound`` = ``LB``, ``optimum`` = ``OPT`` (-1
    means unknown), ``upper_bound`` = ``best_overall`` (best heuristic solution). None when missing.
    """
    path = Path(path)
    row = _row(path)
    if row is None:
        return None

    def value(key: str) -> int | None:
        v = integer(row.get(key))
        return v if v is not None and v >= 0 else None

    entry = known_entry(
        f"{VALUES_FILE} (LB, OPT, best_overall; Mommessin et al. 2025)",
        optimum=value("OPT"),
        lower_bound=value("LB"),
        upper_bound=value("best_overall"),
    )
    return None if entry is None else {file_stem(path): entry}


def read_vbp(path: str | Path, *, known: Any = True) -> list[Instance]:
    """Read one ``.vbp`` file into one ``placement``/``min-gpus`` instance.

    Args:
        path: the file (plain or gzipped).
        known: True to attach the values of ``Panigrahy_summary_known.tsv`` (see
            :func:`known_values`), False for none, or a mapping instance name -> values dict.

    Raises:
        InputError: a malformed file, naming the token and line.
    """
    path = Path(path)
    name = file_stem(path)
    values = known_table(known, lambda: known_values(path))
    tok = Tokens.read(path)
    d = tok.one("number of dimensions d", minimum=1)
    cap = tok.take(d, f"{d} bin capacities", minimum=0)
    n = tok.one("number of item lines n", minimum=1)
    start = tok.pos
    rows = tok.take(n * (d + 1), f"{n} item lines of {d} weights and a multiplicity", minimum=0).reshape(n, d + 1)
    weights, mult = rows[:, :d], rows[:, d]
    if mult.min() < 1:
        j = int(np.flatnonzero(mult < 1)[0])
        raise tok.error(start + j * (d + 1) + d, f"a multiplicity >= 1 (item line {j + 1})", str(int(mult[j])))
    total = int(mult.sum())
    if total > MAX_ITEMS:
        raise tok.error(start + d, f"at most {MAX_ITEMS} items in all (multiplicities summed)", f"{total} items")
    items = np.repeat(weights, mult, axis=0).astype(np.float64)
    notes = []
    if tok.remaining:
        notes.append(
            f"the file holds {tok.remaining} token(s) after the {n} item line(s) its header announces; "
            "ignored (the header is trusted)"
        )
    if (mult > 1).any():
        notes.append(f"{n} item line(s) expanded by their multiplicities into {total} items")
    dims = [f"d{i}" for i in range(d)]
    bins = [f"b{i}" for i in range(total)]
    jobs = Jobs.build([f"j{k}" for k in range(total)], items[:, None, :])
    metadata: dict[str, Any] = {
        "name": name,
        "description": f"Vector bin packing: {total} items, {d} dimensions; minimise bins (GPUs) used; "
        f"file {plain_name(path)}.",
        "source": {"citation": CITATION, "format": "vbp", "file": plain_name(path)},
    }
    if path.parent.name:
        metadata["source"]["set"] = path.parent.name
    entry = values.get(name)
    if entry:
        metadata["known"] = entry
    if notes:
        metadata["notes"] = notes
    metadata["tags"] = ["vbp"]
    return [
        make_instance(
            resources=[Resource(r, "") for r in dims],
            gpu_types=[GpuType("bin", {r: float(c) for r, c in zip(dims, cap.tolist(), strict=True)})],
            nodes=[Node(b, "bin", (b,)) for b in bins],
            jobs=jobs,
            problem=Problem("placement", "min-gpus"),
            metadata=metadata,
        )
    ]
