"""Generalized Assignment Problem files: OR-Library (several problems a file) and Yagiura/fontanf
(one problem a file).

Format (a token stream: line breaks carry no meaning): ``m n``; ``m`` rows of ``n`` costs
``c[agent][job]``; ``m`` rows of ``n`` resource uses ``r[agent][job]``; ``m`` capacities. An
OR-Library file starts with the number of problems ``P`` and holds ``P`` such blocks.

Mapping to schedbench (class ``placement``, objective ``min-cost``): one resource dimension
``gap_resource``; agent ``i`` becomes GPU type ``a<i>`` (capacity = the agent's capacity) and node
``a<i>`` holding one GPU ``a<i>``; job ``k`` (0-based, file order) becomes ``j<k>``, gang 1, eligible
on every type, with demand ``r[i][k]`` and cost ``c[i][k]`` on type ``a<i>``.

OR-Library published gap1–gap12 as *maximisation* problems; the usual (and default) reading is the
minimisation variant. ``sense="max"`` imports the maximisation variant as ``min-cost`` with negated
costs, so that a published maximisation optimum ``z`` is checked as ``-z``.

Names: OR-Library problem ``k`` (1-based) of ``gap1.txt`` is ``gap1-<k>``; a Yagiura file is named
by its file name (``c10400``, ``gap1-0``; fontanf numbers cattrysse1994's problems from 0, so
``gap1-0`` is OR-Library's ``gap1-1``). With ``sense="max"`` the name gets the suffix ``-max`` so that
both variants can be written to one folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from schedbench.errors import InputError
from schedbench.importers._tokens import Tokens, file_stem, integer, known_entry, known_table, plain_name, read_table
from schedbench.instances.io import make_instance
from schedbench.instances.model import GpuType, Instance, Jobs, Node, Problem, Resource

RESOURCE = "gap_resource"

CITATION_ORLIB = (
    "J. E. Beasley, OR-Library: distributing test problems by electronic mail, J. Oper. Res. Soc. 41(11) "
    "1069-1072, 1990. gap1-gap12: Osman 1995 and Cattrysse, Salomon & Van Wassenhove 1994; "
    "gapa-gapd: Chu & Beasley, A genetic algorithm for the generalised assignment problem, "
    "Comput. Oper. Res. 24(1) 17-23, 1997."
)
CITATION_YAGIURA = (
    "M. Yagiura, T. Ibaraki & F. Glover, An ejection chain approach for the generalized assignment problem, "
    "INFORMS J. Comput. 16(2) 133-151, 2004; files and values from the fontanf/generalizedassignmentsolver "
    "collection (MIT)."
)
NOTE_MIN = (
    "OR-Library published gap1-gap12 as maximisation problems; this is the minimisation variant "
    "(minimise total cost), as used by Yagiura et al. and fontanf: compare with the minimisation optimum "
    "(optima.csv opt_min), not with OR-Library's maximisation value."
)
NOTE_MAX = (
    "Maximisation variant (sense=max): imported as min-cost with negated costs, so the objective here is "
    "minus the total profit; a published maximisation optimum z corresponds to -z."
)

#: Values of the ``sense`` option.
_SENSES = ("min", "max")


def _check_sense(sense: Any) -> str:
    if sense not in _SENSES:
        raise ValueError(f"option sense: expected 'min' or 'max', got {sense!r}")
    return str(sense)


def _read_problem(tok: Tokens, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One ``m n`` block: costs ``(m, n)``, resource uses ``(m, n)``, capacities ``(m,)``."""
    m = tok.one(f"{label}number of agents m", minimum=1)
    n = tok.one(f"{label}number of jobs n", minimum=1)
    cost = tok.take(m * n, f"{label}{m}x{n} costs c[agent][job]").reshape(m, n)
    use = tok.take(m * n, f"{label}{m}x{n} resource uses r[agent][job]", minimum=0).reshape(m, n)
    cap = tok.take(m, f"{label}{m} agent capacities", minimum=0)
    return cost, use, cap


def gap_instance(
    cost: np.ndarray,
    use: np.ndarray,
    cap: np.ndarray,
    *,
    name: str,
    sense: str = "min",
    description: str = "",
    source: dict[str, Any] | None = None,
    known: dict[str, Any] | None = None,
    notes: list[str] | None = None,
) -> Instance:
    """Build the checked schedbench instance of a GAP given as ``c[agent][job]``, ``r[agent][job]``
    and the agent capacities (see the module docstring for the mapping)."""
    m, n = cost.shape
    agents = [f"a{i}" for i in range(m)]
    sign = -1.0 if sense == "max" else 1.0
    jobs = Jobs.build(
        [f"j{k}" for k in range(n)],
        np.asarray(use, dtype=np.float64).T[:, :, None],
        cost=sign * np.asarray(cost, dtype=np.float64).T,
    )
    metadata: dict[str, Any] = {"name": name}
    if description:
        metadata["description"] = description
    if source is not None:
        metadata["source"] = source
    if known:
        metadata["known"] = known
    metadata["notes"] = [*(notes or []), NOTE_MAX if sense == "max" else NOTE_MIN]
    metadata["tags"] = ["gap", f"sense-{sense}"]
    return make_instance(
        resources=[Resource(RESOURCE, "")],
        gpu_types=[GpuType(a, {RESOURCE: float(c)}) for a, c in zip(agents, cap.tolist(), strict=True)],
        nodes=[Node(a, a, (a,)) for a in agents],
        jobs=jobs,
        problem=Problem("placement", "min-cost"),
        metadata=metadata,
    )


def _describe(m: int, n: int, sense: str, where: str) -> str:
    kind = "maximisation variant, costs negated" if sense == "max" else "minimisation"
    return f"Generalized assignment problem ({kind}): {m} agents, {n} jobs; {where}."


# --------------------------------------------------------------------------- OR-Library


def _orlib_rows(path: Path) -> dict[int, dict[str, str]] | None:
    """Rows of ``optima.csv`` beside an OR-Library file, by 1-based problem index."""
    rows = read_table(path.parent / "optima.csv")
    if rows is None:
        return None
    out: dict[int, dict[str, str]] = {}
    for row in rows:
        k = integer(row.get("index"))
        if row.get("file") == plain_name(path) and k is not None:
            out[k] = row
    return out or None


def _orlib_known(row: dict[str, str], sense: str) -> dict[str, Any] | None:
    if sense == "max":
        opt_max = integer(row.get("opt_max_orlib"))
        return known_entry(
            "optima.csv opt_max_orlib (OR-Library gapinfo maximisation optimum), negated",
            optimum=None if opt_max is None else -opt_max,
        )
    opt_min = integer(row.get("opt_min"))
    optimal = row.get("min_status", "optimal") == "optimal"
    return known_entry(
        "optima.csv opt_min"
        + ("" if optimal else f" (status {row.get('min_status')!r}: best known)")
        + " and min_lower_bound",
        optimum=opt_min if optimal else None,
        best_known=None if optimal else opt_min,
        lower_bound=integer(row.get("min_lower_bound")),
    )


def orlib_known_values(path: str | Path, *, sense: str = "min") -> dict[str, dict[str, Any]] | None:
    """Published values for the problems of an OR-Library GAP file, by instance name.

    Read from ``optima.csv`` in the same folder (columns ``file``, ``index``, ``opt_min``,
    ``min_status``, ``min_lower_bound``, ``opt_max_orlib``). For ``sense="min"``: ``optimum`` =
    ``opt_min`` when ``min_status`` is ``optimal`` (else ``best_known``), ``lower_bound`` =
    ``min_lower_bound``; for ``sense="max"``: ``optimum`` = ``-opt_max_orlib``. None when the file
    is missing or lists nothing for this file.
    """
    sense = _check_sense(sense)
    path = Path(path)
    rows = _orlib_rows(path)
    if rows is None:
        return None
    suffix = "-max" if sense == "max" else ""
    out = {}
    for k, row in rows.items():
        entry = _orlib_known(row, sense)
        if entry is not None:
            out[f"{file_stem(path)}-{k}{suffix}"] = entry
    return out or None


def read_orlib_gap(path: str | Path, *, sense: str = "min", known: Any = True) -> list[Instance]:
    """Read an OR-Library GAP file (``P`` problems) into ``P`` instances named ``<stem>-<k>``.

    Args:
        path: the file (plain or gzipped).
        sense: ``"min"`` (default) or ``"max"`` (maximisation variant, costs negated).
        known: True to attach the values of ``optima.csv`` found beside the file (and the
            problem's label from it, e.g. ``c515-1``), False for none (nothing beside the file is
            read), or a mapping instance name -> values dict.

    Raises:
        InputError: a malformed file, naming the token and line.
    """
    sense = _check_sense(sense)
    path = Path(path)
    values = known_table(known, lambda: orlib_known_values(path, sense=sense))
    rows = (_orlib_rows(path) or {}) if known is True else {}
    tok = Tokens.read(path)
    count = tok.one("number of problems P", minimum=1)
    suffix = "-max" if sense == "max" else ""
    problems = []
    for k in range(1, count + 1):
        problems.append(_read_problem(tok, f"problem {k} of {count}: "))
    tok.expect_end(f"after the {count} problem(s) announced by its first token")
    out = []
    file = plain_name(path)
    for k, (cost, use, cap) in enumerate(problems, start=1):
        m, n = cost.shape
        row = rows.get(k, {})
        name = f"{file_stem(path)}-{k}{suffix}"
        source: dict[str, Any] = {
            "citation": CITATION_ORLIB,
            "format": "orlib-gap",
            "file": file,
            "index": k,
            "problems_in_file": count,
        }
        if row.get("label"):
            source["label"] = row["label"]
        entry = values.get(name)
        notes = []
        if (
            entry is not None
            and known is True
            and (integer(row.get("m")), integer(row.get("n"))) not in ((m, n), (None, None))
        ):
            notes.append(f"optima.csv lists m={row.get('m')}, n={row.get('n')} for this problem; values not attached")
            entry = None
        out.append(
            gap_instance(
                cost,
                use,
                cap,
                name=name,
                sense=sense,
                description=_describe(m, n, sense, f"OR-Library {file}, problem {k} of {count}"),
                source=source,
                known=entry,
                notes=notes,
            )
        )
    return out


# --------------------------------------------------------------------------- Yagiura / fontanf


def _yagiura_row(path: Path) -> dict[str, str] | None:
    rows = read_table(path.parent.parent / "data.csv")
    if rows is None:
        return None
    key = f"{path.parent.name}/{plain_name(path)}"
    return next((row for row in rows if row.get("Path") == key), None)


def yagiura_known_values(path: str | Path, *, sense: str = "min") -> dict[str, dict[str, Any]] | None:
    """Published values for a Yagiura/fontanf GAP file, as ``{name: values}``.

    Read from ``data.csv`` two folders up (row ``Path`` = ``<set>/<file name>``): ``lower_bound`` =
    ``Best known bound``, ``optimum`` = ``Optimum`` (when given), ``best_known`` = ``Best known
    solution value``. These are minimisation values: None for ``sense="max"``, and None when the
    file or the row is missing.
    """
    sense = _check_sense(sense)
    path = Path(path)
    if sense == "max":
        return None
    row = _yagiura_row(path)
    if row is None:
        return None
    entry = known_entry(
        "data.csv of fontanf/generalizedassignmentsolver (Best known bound, Optimum, Best known solution value)",
        optimum=integer(row.get("Optimum")),
        best_known=integer(row.get("Best known solution value")),
        lower_bound=integer(row.get("Best known bound")),
    )
    return None if entry is None else {file_stem(path): entry}


def read_gap(path: str | Path, *, sense: str = "min", known: Any = True) -> list[Instance]:
    """Read a one-problem GAP file (Yagiura/fontanf layout: no leading ``P``) into one instance
    named after the file's stem. Options as for :func:`read_orlib_gap`; known values come from
    ``data.csv`` two folders up."""
    sense = _check_sense(sense)
    path = Path(path)
    values = known_table(known, lambda: yagiura_known_values(path, sense=sense))
    tok = Tokens.read(path)
    cost, use, cap = _read_problem(tok, "")
    tok.expect_end("after the capacities")
    m, n = cost.shape
    name = file_stem(path) + ("-max" if sense == "max" else "")
    entry = values.get(name)
    notes = []
    if entry is not None and known is True:
        row = _yagiura_row(path) or {}
        listed = (integer(row.get("Agent number")), integer(row.get("Item number")))
        if listed not in ((m, n), (None, None)):
            notes.append(f"data.csv lists {listed[0]} agents and {listed[1]} items for this file; values not attached")
            entry = None
    source = {"citation": CITATION_YAGIURA, "format": "gap", "file": plain_name(path), "index": 1}
    if path.parent.name:
        source["set"] = path.parent.name
    return [
        gap_instance(
            cost,
            use,
            cap,
            name=name,
            sense=sense,
            description=_describe(m, n, sense, f"file {plain_name(path)}"),
            source=source,
            known=entry,
            notes=notes,
        )
    ]


# --------------------------------------------------------------------------- stored solutions


def read_gap_solution(path: str | Path, inst: Instance) -> dict[str, Any]:
    """Read a fontanf stored GAP solution (one agent index per job, in job order) as a schedbench
    placement solution ``{"problem": "placement", "assignment": {"j<k>": ["a<i>"]}}`` for ``inst``
    (an instance imported by this module).

    Raises:
        InputError: wrong number of entries, or an agent index outside ``0..m-1``.
    """
    tok = Tokens.read(path)
    n, m = inst.n_jobs, len(inst.gpu_types)
    agents = tok.take(n, f"{n} agent indices (one per job of {inst.name or 'the instance'})", minimum=0)
    if len(agents) and agents.max() >= m:
        k = int(np.flatnonzero(agents >= m)[0])
        raise tok.error(k, f"an agent index in 0..{m - 1}", str(int(agents[k])))
    tok.expect_end(f"after the {n} agent indices")
    gpu = [f"a{i}" for i in range(m)]
    missing = [g for g in gpu if g not in inst.gpu_index]
    if missing:
        raise InputError(
            str(path),
            "$",
            "an instance imported from a GAP file (GPUs a0, a1, ...)",
            f"an instance without GPU {missing[0]!r}",
        )
    return {
        "problem": "placement",
        "assignment": {job: [gpu[i]] for job, i in zip(inst.jobs.ids, agents.tolist(), strict=True)},
    }
