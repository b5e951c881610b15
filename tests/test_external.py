"""The importers on the full published sets in ``../shared/external`` (skipped when absent).

Every file of every set must import, pass the instance checks (``make_instance`` enforces them),
have the sizes its header / values table lists, and carry its published values. The stored
Yagiura/fontanf solutions must validate, and a corrupted copy of each must be rejected.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pytest

from schedbench.importers import IMPORTERS, read_gap_solution
from schedbench.instances import Instance
from schedbench.validator import validate

#: ``/work/main/../shared/external`` (the same place as conftest's ``shared_dir``).
EXTERNAL = Path(__file__).resolve().parents[1].parent / "shared" / "external"

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(
        not EXTERNAL.is_dir(),
        reason=f"external data sets not available: {EXTERNAL} does not "
        "exist (it sits beside the project's root in the development setup only)",
    ),
]

ORLIB = EXTERNAL / "gap_orlib"
YAGIURA = EXTERNAL / "gap_yagiura"
RCMAX = EXTERNAL / "rcmax_fanjul_ruiz"
VBP = EXTERNAL / "vbp_panigrahy"

YAGIURA_SETS = {"cattrysse1994": 60, "chu1997": 24, "yagiura2004": 33}
RCMAX_FOLDERS = {"instancias1a100": "U1a100", "JobsCorre": "JobsCorre", "MaqCorre": "MaqCorre"}
VBP_CLASSES = [f"class{k}" for k in range(1, 10)]

#: Stored fontanf solutions whose cost differs from data.csv's "Best known solution value":
#: (set, instance) -> (cost of the stored solution, best-known value). All are feasible. d20200's
#: stored solution is better than the listed value (optima.csv quotes it as the best known upper bound).
STORED_COST_DIFFERS = {
    ("chu1997", "d10200"): (12433, 12430),
    ("chu1997", "d20100"): (6196, 6185),
    ("chu1997", "d20200"): (12238, 12244),
    ("yagiura2004", "c801600"): (16286, 16285),
    ("yagiura2004", "d10400"): (24965, 24961),
    ("yagiura2004", "d15900"): (55414, 55404),
    ("yagiura2004", "d201600"): (97836, 97825),
    ("yagiura2004", "d30900"): (54839, 54838),
    ("yagiura2004", "d401600"): (97126, 97105),
    ("yagiura2004", "d40400"): (24357, 24356),
}


def _csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def _int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _gap_arrays(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Back to c[agent][job], r[agent][job], capacities."""
    return inst.jobs.cost.T, inst.jobs.demand[:, :, 0].T, inst.type_capacity[:, 0]


# --------------------------------------------------------------------------- OR-Library GAP


@pytest.fixture(scope="module")
def orlib_rows() -> dict[tuple[str, int], dict[str, str]]:
    return {(r["file"], int(r["index"])): r for r in _csv(ORLIB / "optima.csv")}


@pytest.fixture(scope="module")
def orlib() -> dict[str, list[Instance]]:
    return {p.name: IMPORTERS["orlib-gap"].read(p) for p in sorted(ORLIB.glob("gap*.txt"))}


def test_orlib_every_file_imports_with_listed_sizes(orlib, orlib_rows) -> None:
    assert len(orlib) == 16
    assert sum(len(v) for v in orlib.values()) == len(orlib_rows) == 84
    for file, insts in orlib.items():
        stem = file.removesuffix(".txt")
        assert [i.name for i in insts] == [f"{stem}-{k}" for k in range(1, len(insts) + 1)]
        for k, inst in enumerate(insts, start=1):
            row = orlib_rows[(file, k)]
            assert (len(inst.gpu_types), inst.n_jobs) == (int(row["m"]), int(row["n"])), inst.name
            assert inst.metadata["source"]["label"] == row["label"]
            assert (inst.problem.cls, inst.problem.objective) == ("placement", "min-cost")


def test_orlib_known_values_and_sense(orlib, orlib_rows) -> None:
    checked_max = 0
    for file, insts in orlib.items():
        maxed = IMPORTERS["orlib-gap"].read(ORLIB / file, sense="max")
        for k, (lo, hi) in enumerate(zip(insts, maxed, strict=True), start=1):
            row = orlib_rows[(file, k)]
            known = lo.metadata["known"]
            if row["min_status"] == "optimal":
                assert known["optimum"] == int(row["opt_min"]), lo.name
            else:
                assert "optimum" not in known
                assert known["best_known"] == int(row["opt_min"])
            assert known["lower_bound"] == int(row["min_lower_bound"])
            np.testing.assert_array_equal(hi.jobs.cost, -lo.jobs.cost)
            assert hi.name == lo.name + "-max"
            if re.fullmatch(r"gap\d+\.txt", file):
                # gap1-gap12: published as maximisation problems, values for both senses
                assert row["min_status"] == "optimal"
                assert known["optimum"] == int(row["opt_min"])
                assert hi.metadata["known"]["optimum"] == -int(row["opt_max_orlib"])
                assert -hi.metadata["known"]["optimum"] > known["optimum"]
                checked_max += 1
            else:
                assert row["opt_max_orlib"] == ""
                assert "known" not in hi.metadata
    assert checked_max == 60


def test_orlib_matches_yagiura_copies(orlib, orlib_rows) -> None:
    """OR-Library gapK problem k is fontanf's cattrysse1994/gapK-(k-1); gapa-gapd problems are
    chu1997 files named by their label."""
    for file, insts in orlib.items():
        for k, inst in enumerate(insts, start=1):
            if file.startswith("gap") and file[3].isdigit():
                other = YAGIURA / "cattrysse1994" / f"{file.removesuffix('.txt')}-{k - 1}"
            else:
                other = YAGIURA / "chu1997" / orlib_rows[(file, k)]["label"]
            (twin,) = IMPORTERS["gap"].read(other)
            for a, b in zip(_gap_arrays(inst), _gap_arrays(twin), strict=True):
                np.testing.assert_array_equal(a, b, err_msg=f"{inst.name} vs {other.name}")


# --------------------------------------------------------------------------- Yagiura GAP


@pytest.fixture(scope="module")
def yagiura_rows() -> dict[str, dict[str, str]]:
    return {r["Path"]: r for r in _csv(YAGIURA / "data.csv")}


@pytest.fixture(scope="module")
def yagiura() -> dict[tuple[str, str], Instance]:
    out = {}
    for s in YAGIURA_SETS:
        for path in sorted((YAGIURA / s).iterdir()):
            (inst,) = IMPORTERS["gap"].read(path)
            out[(s, path.name)] = inst
    return out


@pytest.mark.parametrize("dataset", list(YAGIURA_SETS))
def test_yagiura_every_file_imports_with_listed_sizes(yagiura, yagiura_rows, dataset) -> None:
    insts = {name: inst for (s, name), inst in yagiura.items() if s == dataset}
    assert len(insts) == YAGIURA_SETS[dataset]
    for name, inst in insts.items():
        row = yagiura_rows[f"{dataset}/{name}"]
        assert inst.name == name
        assert (len(inst.gpu_types), inst.n_jobs) == (int(row["Agent number"]), int(row["Item number"]))
        known = inst.metadata["known"]
        assert known.get("optimum") == _int(row["Optimum"])
        assert known["best_known"] == int(row["Best known solution value"])
        assert known["lower_bound"] == int(row["Best known bound"])
    assert sum(1 for k in yagiura_rows if k.startswith(dataset + "/")) == len(insts)


def _stored(yagiura) -> list[tuple[str, str, Instance, dict]]:
    out = []
    for s in YAGIURA_SETS:
        for path in sorted((YAGIURA / "best_solutions" / s).glob("*_solution.txt")):
            name = path.name.removesuffix("_solution.txt")
            inst = yagiura[(s, name)]
            out.append((s, name, inst, read_gap_solution(path, inst)))
    return out


@pytest.fixture(scope="module")
def stored(yagiura) -> list[tuple[str, str, Instance, dict]]:
    return _stored(yagiura)


def test_stored_solutions_are_feasible_with_best_known_cost(stored, yagiura_rows) -> None:
    assert len(stored) == sum(YAGIURA_SETS.values())
    differs = {}
    for s, name, inst, sol in stored:
        res = validate(inst, sol)
        assert res.feasible, (s, name, res.violations[:3])
        best = int(yagiura_rows[f"{s}/{name}"]["Best known solution value"])
        assert res.objective is not None and res.objective.is_integer()
        cost = int(res.objective)
        lower = int(yagiura_rows[f"{s}/{name}"]["Best known bound"])
        assert cost >= lower, (s, name)
        if cost != best:
            differs[(s, name)] = (cost, best)
    print("\nstored fontanf solutions whose cost differs from data.csv's best-known value:")
    for (s, name), (cost, best) in sorted(differs.items()):
        print(f"  {s}/{name}: stored {cost}, best known {best}")
    assert differs == STORED_COST_DIFFERS


def _overload(inst: Instance, agent: np.ndarray) -> tuple[int, int] | None:
    """The first (job, other agent) in job order, then agent order, whose move exceeds that agent's
    capacity."""
    _, use, cap = _gap_arrays(inst)
    m, n = use.shape
    load = np.bincount(agent, weights=use[agent, np.arange(n)], minlength=m)
    over = (load[None, :] + use.T > cap[None, :]) & (np.arange(m)[None, :] != agent[:, None])
    hits = np.argwhere(over)
    return None if len(hits) == 0 else (int(hits[0][0]), int(hits[0][1]))


def test_corrupted_stored_solutions_are_rejected(stored) -> None:
    for s, name, inst, sol in stored:
        agent = np.array([int(sol["assignment"][j][0][1:]) for j in inst.jobs.ids])
        move = _overload(inst, agent)
        assert move is not None, f"{s}/{name}: no single move exceeds a capacity"
        job, to = move
        bad = {"problem": "placement", "assignment": dict(sol["assignment"])}
        bad["assignment"][inst.jobs.ids[job]] = [f"a{to}"]
        res = validate(inst, bad)
        assert not res.feasible, (s, name)
        assert {(v.constraint, v.gpu) for v in res.violations} == {("capacity", f"a{to}")}, (s, name)


# --------------------------------------------------------------------------- R||Cmax


@pytest.fixture(scope="module")
def rcmax_rows() -> dict[tuple[str, str], dict[str, str]]:
    return {(r["type"], r["instance"]): r for r in _csv(RCMAX / "best_known.csv")}


@pytest.mark.parametrize("folder", list(RCMAX_FOLDERS))
def test_rcmax_every_file_imports_with_listed_sizes(rcmax_rows, folder) -> None:
    files = sorted((RCMAX / folder).glob("*.txt"))
    assert len(files) == 200
    sizes = set()
    for path in files:
        (inst,) = IMPORTERS["rcmax"].read(path)
        with open(path) as handle:
            n, m, _ = map(int, handle.readline().split())
        row = rcmax_rows[(RCMAX_FOLDERS[folder], path.stem)]
        assert inst.name == f"{folder}-{path.stem}"
        assert (inst.n_jobs, len(inst.gpu_types), inst.n_gpus) == (n, m, m)
        assert (n, m) == (int(row["n"]), int(row["m"]))
        sizes.add((n, m))
        known = inst.metadata["known"]
        assert known["best_known"] == int(row["best_known_cmax"])
        assert ("optimum" in known) == (row["proven_optimal"] == "1")
        # the published value respects the simple lower bound of the imported times
        best = inst.jobs.time.min(axis=1)
        assert known["best_known"] >= max(best.max(), math.ceil(best.sum() / m - 1e-9))
    assert {n for n, _ in sizes} == {100, 200, 500, 1000}
    assert {m for _, m in sizes} == {10, 20, 30, 40, 50}


# --------------------------------------------------------------------------- vector bin packing


@pytest.fixture(scope="module")
def vbp_rows() -> dict[str, dict[str, str]]:
    return {r["instance_name"]: r for r in _csv(VBP / "Panigrahy_summary_known.tsv", "\t")}


@pytest.mark.parametrize("cls", VBP_CLASSES)
def test_vbp_every_file_imports_with_listed_sizes(vbp_rows, cls) -> None:
    files = sorted((VBP / "instances" / cls).glob("*.vbp"))
    assert len(files) == 180
    for path in files:
        (inst,) = IMPORTERS["vbp"].read(path)
        _, n_name, d_name, _ = path.stem.split("_")
        with open(path) as handle:
            tokens = handle.read().split()
        d = int(tokens[0])
        n_header = int(tokens[d + 1])
        # class 9 headers announce one item more than the file name
        assert n_header == int(n_name) + (1 if cls == "class9" else 0)
        assert (len(inst.resources), inst.n_jobs, inst.n_gpus) == (int(d_name), n_header, n_header)
        assert inst.type_capacity[0].tolist() == [float(t) for t in tokens[1 : d + 1]]
        row = vbp_rows[path.stem]
        known = inst.metadata["known"]
        assert known["lower_bound"] == int(row["LB"])
        assert known.get("optimum", -1) == int(row["OPT"])
        # the volume bound of the imported items never exceeds the published lower bound
        volume = math.ceil((inst.jobs.demand[:, 0, :].sum(axis=0) / inst.type_capacity[0]).max() - 1e-9)
        assert volume <= known["lower_bound"] <= known.get("optimum", known["upper_bound"]) <= known["upper_bound"]
    assert sum(1 for k in vbp_rows if k.startswith(cls + "_")) == 180
