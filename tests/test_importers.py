"""Importers on tiny hand-written files of each format (tests/data/formats/)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from schedbench.errors import InputError
from schedbench.importers import IMPORTERS, Importer, read, read_gap_solution
from schedbench.importers import gap as gap_mod
from schedbench.instances import content_hash, load, save
from schedbench.validator import validate

DATA = Path(__file__).parent / "data" / "formats"
ORLIB = DATA / "orlib" / "tiny.txt"
YAGIURA = DATA / "yagiura" / "set1" / "g24"
RCMAX = DATA / "rcmax" / "instancias1a100" / "7.txt"
VBP = DATA / "vbp" / "instances" / "classA" / "mini_4_2_0.vbp"
VBP_SMALL = DATA / "vbp" / "instances" / "classA" / "mini_2_1_1.vbp"

# problem 1 of tiny.txt, also the content of yagiura/set1/g24
COST1 = np.array([[3, 5, 2, 4], [6, 1, 7, 2]])
USE1 = np.array([[4, 2, 3, 5], [2, 3, 4, 1]])
CAP1 = [8, 6]


def placement(assign: dict[str, str]) -> dict:
    return {"problem": "placement", "assignment": {j: [g] for j, g in assign.items()}}


# --------------------------------------------------------------------------- registry


def test_registry_lists_the_four_formats() -> None:
    assert set(IMPORTERS) == {"orlib-gap", "gap", "rcmax", "vbp"}
    expected = {
        "orlib-gap": ("placement", "min-cost"),
        "gap": ("placement", "min-cost"),
        "rcmax": ("batch", "makespan"),
        "vbp": ("placement", "min-gpus"),
    }
    for name, imp in IMPORTERS.items():
        assert isinstance(imp, Importer)
        assert imp.name == name
        assert (imp.problem_class, imp.objective) == expected[name]
        assert imp.citation and imp.description
        assert "known" in {o.name for o in imp.options}
    assert {o.name for o in IMPORTERS["gap"].options} == {"sense", "known"}
    assert {o.name for o in IMPORTERS["rcmax"].options} == {"known"}


def test_every_format_produces_its_declared_class() -> None:
    for fmt, path in (("orlib-gap", ORLIB), ("gap", YAGIURA), ("rcmax", RCMAX), ("vbp", VBP)):
        imp = IMPORTERS[fmt]
        for inst in imp.read(path):
            assert (inst.problem.cls, inst.problem.objective) == (imp.problem_class, imp.objective)
            assert inst.metadata["source"]["citation"] == imp.citation
            assert inst.metadata["source"]["format"] == fmt


def test_unknown_and_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="takes no option"):
        IMPORTERS["rcmax"].read(RCMAX, sense="max")
    with pytest.raises(ValueError, match="sense must be one of"):
        IMPORTERS["gap"].read(YAGIURA, sense="maximise")
    with pytest.raises(ValueError, match="unknown format"):
        read("csv", ORLIB)
    with pytest.raises(ValueError, match="unknown field"):
        IMPORTERS["vbp"].read(VBP, known={"mini_4_2_0": {"opt": 3}})
    with pytest.raises(ValueError, match="finite number"):
        IMPORTERS["vbp"].read(VBP, known={"mini_4_2_0": {"optimum": "3"}})


def test_str_paths_are_accepted() -> None:
    assert read("gap", str(YAGIURA))[0].name == "g24"


# --------------------------------------------------------------------------- GAP


def test_orlib_structure() -> None:
    insts = IMPORTERS["orlib-gap"].read(ORLIB)
    assert [i.name for i in insts] == ["tiny-1", "tiny-2"]
    inst = insts[0]
    assert inst.resource_ids == ("gap_resource",)
    assert inst.resources[0].unit == ""
    assert inst.type_ids == ("a0", "a1")
    assert [t.capacity for t in inst.gpu_types] == [{"gap_resource": 8.0}, {"gap_resource": 6.0}]
    assert [(n.id, n.gpu_type, n.gpus) for n in inst.nodes] == [("a0", "a0", ("a0",)), ("a1", "a1", ("a1",))]
    assert inst.jobs.ids == ("j0", "j1", "j2", "j3")
    assert inst.jobs.gang.tolist() == [1, 1, 1, 1]
    assert inst.jobs.eligible.all()
    np.testing.assert_array_equal(inst.jobs.cost, COST1.T)
    np.testing.assert_array_equal(inst.jobs.demand[:, :, 0], USE1.T)
    assert inst.jobs.time is None
    src = inst.metadata["source"]
    assert (src["file"], src["index"], src["problems_in_file"], src["label"]) == ("tiny.txt", 1, 2, "t24-1")
    assert any("maximisation" in note and "minimisation variant" in note for note in inst.metadata["notes"])
    # problem 2 is split across lines arbitrarily: the file is a token stream
    two = insts[1]
    np.testing.assert_array_equal(two.jobs.cost, np.array([[10, 20, 30, 40], [15, 15, 25, 45]]).T)
    np.testing.assert_array_equal(two.jobs.demand[:, :, 0], np.array([[1, 1, 1, 1], [2, 2, 2, 2]]).T)
    assert two.type_capacity[:, 0].tolist() == [2.0, 4.0]


def test_orlib_known_values_from_optima_csv() -> None:
    one, two = IMPORTERS["orlib-gap"].read(ORLIB)
    assert one.metadata["known"]["optimum"] == 8
    assert one.metadata["known"]["lower_bound"] == 8
    # status "open": opt_min is a best-known value, not an optimum
    assert "optimum" not in two.metadata["known"]
    assert two.metadata["known"]["best_known"] == 90
    assert two.metadata["known"]["lower_bound"] == 88
    table = IMPORTERS["orlib-gap"].known_values(ORLIB)
    assert table is not None
    assert table["tiny-1"]["optimum"] == 8
    maxed = IMPORTERS["orlib-gap"].known_values(ORLIB, sense="max")
    assert maxed == {"tiny-1-max": {"optimum": -22, "source": maxed["tiny-1-max"]["source"]}}


def test_orlib_min_solutions_validate_with_hand_computed_cost() -> None:
    one, two = IMPORTERS["orlib-gap"].read(ORLIB)
    best = placement({"j0": "a0", "j1": "a1", "j2": "a0", "j3": "a1"})  # loads 7/8 and 4/6
    res = validate(one, best)
    assert res.feasible, res.violations
    assert res.objective == 3 + 1 + 2 + 2 == one.metadata["known"]["optimum"]
    res2 = validate(two, placement({"j0": "a0", "j3": "a0", "j1": "a1", "j2": "a1"}))
    assert res2.feasible
    assert res2.objective == 10 + 40 + 15 + 25
    # three unit jobs on a0 (capacity 2) break its capacity
    bad = validate(two, placement({"j0": "a0", "j1": "a0", "j2": "a0", "j3": "a1"}))
    assert not bad.feasible
    assert [(v.constraint, v.gpu) for v in bad.violations] == [("capacity", "a0")]


def test_sense_max_negates_costs() -> None:
    mins = IMPORTERS["orlib-gap"].read(ORLIB)
    maxs = IMPORTERS["orlib-gap"].read(ORLIB, sense="max")
    assert [i.name for i in maxs] == ["tiny-1-max", "tiny-2-max"]
    for lo, hi in zip(mins, maxs, strict=True):
        np.testing.assert_array_equal(hi.jobs.cost, -lo.jobs.cost)
        np.testing.assert_array_equal(hi.jobs.demand, lo.jobs.demand)
        assert (hi.problem.cls, hi.problem.objective) == ("placement", "min-cost")
        assert any("negated" in note for note in hi.metadata["notes"])
        assert "sense-max" in hi.metadata["tags"]
    assert maxs[0].metadata["known"]["optimum"] == -22
    assert "known" not in maxs[1].metadata  # no opt_max_orlib for problem 2
    # the profit-maximising assignment: j0, j2 on a1 (uses 2+4 = 6), j1, j3 on a0 (2+5 = 7)
    res = validate(maxs[0], placement({"j0": "a1", "j1": "a0", "j2": "a1", "j3": "a0"}))
    assert res.feasible
    assert res.objective == -(6 + 5 + 7 + 4) == -22
    one = IMPORTERS["gap"].read(YAGIURA, sense="max")[0]
    assert one.name == "g24-max"
    np.testing.assert_array_equal(one.jobs.cost, -COST1.T)
    assert "known" not in one.metadata  # data.csv holds minimisation values only


def test_yagiura_file_matches_orlib_problem() -> None:
    (inst,) = IMPORTERS["gap"].read(YAGIURA)
    assert inst.name == "g24"
    orlib = IMPORTERS["orlib-gap"].read(ORLIB)[0]
    np.testing.assert_array_equal(inst.jobs.cost, orlib.jobs.cost)
    np.testing.assert_array_equal(inst.jobs.demand, orlib.jobs.demand)
    np.testing.assert_array_equal(inst.type_capacity, orlib.type_capacity)
    assert inst.metadata["known"] == {
        "optimum": 8,
        "best_known": 8,
        "lower_bound": 8,
        "source": inst.metadata["known"]["source"],
    }
    assert inst.metadata["source"]["set"] == "set1"
    assert inst.metadata["source"]["file"] == "g24"


def test_read_gap_solution() -> None:
    (inst,) = IMPORTERS["gap"].read(YAGIURA)
    sol = read_gap_solution(DATA / "yagiura" / "g24_solution.txt", inst)
    assert sol == placement({"j0": "a0", "j1": "a1", "j2": "a0", "j3": "a1"})
    res = validate(inst, sol)
    assert res.feasible
    assert res.objective == 8


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ("0 1 0\n", "token 4", "4 agent indices"),
        ("0 1 0 1 1\n", "token 5 (line 1)", "end of the file"),
        ("0 1\n2 1\n", "token 3 (line 2)", "an agent index in 0..1"),
        ("0 1 -1 1\n", "token 3 (line 1)", ">= 0"),
        ("0 1 x 1\n", "token 3 (line 1)", "an integer"),
    ],
)
def test_bad_gap_solution_files(tmp_path: Path, text: str, where: str, expected: str) -> None:
    (inst,) = IMPORTERS["gap"].read(YAGIURA)
    path = tmp_path / "g24_solution.txt"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_gap_solution(path, inst)
    assert info.value.file == str(path)
    assert where in info.value.path
    assert expected in info.value.expected


def test_caller_supplied_known_values() -> None:
    (inst,) = IMPORTERS["gap"].read(YAGIURA, known={"g24": {"best_known": 9, "source": "a test"}})
    assert inst.metadata["known"] == {"best_known": 9, "source": "a test"}
    (bare,) = IMPORTERS["gap"].read(YAGIURA, known=False)
    assert "known" not in bare.metadata
    insts = IMPORTERS["orlib-gap"].read(ORLIB, known=False)
    assert all("known" not in i.metadata and "label" not in i.metadata["source"] for i in insts)


def test_missing_values_file_is_not_an_error(tmp_path: Path) -> None:
    for src in (ORLIB, YAGIURA, RCMAX, VBP):
        folder = tmp_path / src.parent.name
        folder.mkdir(exist_ok=True)
        shutil.copy(src, folder / src.name)
    assert all("known" not in i.metadata for i in read("orlib-gap", tmp_path / "orlib" / "tiny.txt"))
    assert "known" not in read("gap", tmp_path / "set1" / "g24")[0].metadata
    assert "known" not in read("rcmax", tmp_path / "instancias1a100" / "7.txt")[0].metadata
    assert "known" not in read("vbp", tmp_path / "classA" / VBP.name)[0].metadata
    assert IMPORTERS["vbp"].known_values(tmp_path / "classA" / VBP.name) is None


def test_values_listing_other_sizes_are_not_attached(tmp_path: Path) -> None:
    (tmp_path / "orlib").mkdir()
    shutil.copy(ORLIB, tmp_path / "orlib" / "tiny.txt")
    text = (DATA / "orlib" / "optima.csv").read_text().replace("t24-1,2,4,", "t24-1,3,4,")
    (tmp_path / "orlib" / "optima.csv").write_text(text)
    one = read("orlib-gap", tmp_path / "orlib" / "tiny.txt")[0]
    assert "known" not in one.metadata
    assert any("values not attached" in note for note in one.metadata["notes"])


# --------------------------------------------------------------------------- R||Cmax


def test_rcmax_structure() -> None:
    (inst,) = IMPORTERS["rcmax"].read(RCMAX)
    assert inst.name == "instancias1a100-7"
    assert (inst.problem.cls, inst.problem.objective) == ("batch", "makespan")
    assert inst.resource_ids == ("compute",)
    assert inst.type_ids == ("m0", "m1")
    assert [t.capacity for t in inst.gpu_types] == [{"compute": 1.0}, {"compute": 1.0}]
    assert [(n.id, n.gpu_type, n.gpus) for n in inst.nodes] == [("m0", "m0", ("m0",)), ("m1", "m1", ("m1",))]
    assert inst.jobs.ids == ("j0", "j1", "j2", "j3")
    assert inst.jobs.eligible.all()
    assert (inst.jobs.demand == 1).all()
    # job line 3 lists machine 1 before machine 0
    np.testing.assert_array_equal(inst.jobs.time, [[3, 5], [4, 2], [2, 6], [7, 7]])
    assert inst.jobs.cost is None
    # best_known.csv lists folder instancias1a100 under type U1a100 (the decoy row is not used)
    assert inst.metadata["known"]["optimum"] == 9
    assert inst.metadata["known"]["best_known"] == 9


def test_rcmax_schedule_validates_with_hand_computed_makespan() -> None:
    (inst,) = IMPORTERS["rcmax"].read(RCMAX)

    def sched(entries: dict[str, tuple[str, float]]) -> dict:
        return {"problem": "batch", "schedule": {j: {"gpus": [g], "start": s} for j, (g, s) in entries.items()}}

    # m0: j0 [0,3), j2 [3,5); m1: j3 [0,7), j1 [7,9)
    res = validate(inst, sched({"j0": ("m0", 0), "j2": ("m0", 3), "j3": ("m1", 0), "j1": ("m1", 7)}))
    assert res.feasible, res.violations
    assert res.objective == 9 == inst.metadata["known"]["optimum"]
    clash = validate(inst, sched({"j0": ("m0", 0), "j2": ("m0", 2), "j3": ("m1", 0), "j1": ("m1", 7)}))
    assert not clash.feasible


# --------------------------------------------------------------------------- vector bin packing


def test_vbp_structure_multiplicity_and_ignored_extra_line() -> None:
    (inst,) = IMPORTERS["vbp"].read(VBP)
    assert inst.name == "mini_4_2_0"
    assert (inst.problem.cls, inst.problem.objective) == ("placement", "min-gpus")
    assert inst.resource_ids == ("d0", "d1")
    assert inst.type_ids == ("bin",)
    assert inst.gpu_types[0].capacity == {"d0": 10.0, "d1": 8.0}
    # 4 item lines (the header's n); the second has multiplicity 2; the fifth line is ignored
    assert inst.jobs.ids == ("j0", "j1", "j2", "j3", "j4")
    np.testing.assert_array_equal(inst.jobs.demand[:, 0, :], [[5, 3], [4, 4], [4, 4], [6, 1], [1, 7]])
    assert inst.n_gpus == 5
    assert [(n.id, n.gpu_type, n.gpus) for n in inst.nodes] == [(f"b{i}", "bin", (f"b{i}",)) for i in range(5)]
    notes = " ".join(inst.metadata["notes"])
    assert "3 token(s) after the 4 item line(s)" in notes
    assert "expanded" in notes
    assert inst.metadata["known"]["optimum"] == 3
    assert inst.metadata["known"]["lower_bound"] == 3
    assert inst.metadata["known"]["upper_bound"] == 4


def test_vbp_packing_validates_with_hand_counted_bins() -> None:
    (inst,) = IMPORTERS["vbp"].read(VBP)
    # b0: j0 + j1 = (9, 7); b1: j2 + j3 = (10, 5); b2: j4 = (1, 7)
    res = validate(inst, placement({"j0": "b0", "j1": "b0", "j2": "b1", "j3": "b1", "j4": "b2"}))
    assert res.feasible, res.violations
    assert res.objective == 3
    over = validate(inst, placement({"j0": "b0", "j1": "b0", "j2": "b0", "j3": "b1", "j4": "b2"}))
    assert not over.feasible
    assert {(v.constraint, v.gpu) for v in over.violations} == {("capacity", "b0")}


def test_vbp_unknown_optimum_is_left_out() -> None:
    (inst,) = IMPORTERS["vbp"].read(VBP_SMALL)
    assert inst.jobs.demand[:, 0, 0].tolist() == [3, 3, 2]
    known = inst.metadata["known"]
    assert "optimum" not in known  # OPT -1 means unknown
    assert (known["lower_bound"], known["upper_bound"]) == (2, 2)
    res = validate(inst, placement({"j0": "b0", "j2": "b0", "j1": "b1"}))
    assert res.feasible
    assert res.objective == 2


# --------------------------------------------------------------------------- malformed files


def _variants() -> list[tuple[str, Path, str, str, str]]:
    """(format, sample, malformed text, position in the error, text in 'expected')."""
    orlib = ORLIB.read_text()
    rc = RCMAX.read_text()
    vb = VBP.read_text()
    ya = YAGIURA.read_text()
    return [
        # truncated: the last capacity of problem 2 is missing
        ("orlib-gap", ORLIB, orlib.rstrip()[:-1], "token 41 (end of file after line 12)", "2 integer(s)"),
        ("orlib-gap", ORLIB, orlib.replace(" 2 4 10 20", " 2 4 10 2O"), "token 25 (line 8)", "an integer"),
        ("orlib-gap", ORLIB, orlib.replace(" 2 4 10 20", " -2 4 10 20", 1), "token 22 (line 8)", ">= 1"),
        ("orlib-gap", ORLIB, "-1\n", "token 1 (line 1)", ">= 1"),
        ("orlib-gap", ORLIB, orlib + " 7\n", "token 42 (line 13)", "end of the file"),
        ("orlib-gap", ORLIB, orlib.replace(" 4 2 3 5", " 4 -2 3 5"), "token 13 (line 5)", ">= 0"),
        ("orlib-gap", ORLIB, "", "token 1 (empty file)", "number of problems"),
        ("gap", YAGIURA, ya.replace("   8   6", "   8"), "token 20 (end of file after line 6)", "2 agent capacities"),
        ("gap", YAGIURA, ya.replace("   2    4", "   2    -4"), "token 2 (line 1)", ">= 1"),
        ("gap", YAGIURA, ya.replace("   6   1", "   6.5   1"), "token 7 (line 3)", "an integer"),
        ("gap", YAGIURA, ya.replace("   2    4", "   2    99999999999999999999"), "token 2 (line 1)", "at most 2**53"),
        ("gap", YAGIURA, ya.replace("   2    4", "   2    9007199254740993"), "token 2 (line 1)", "at most 2**53"),
        ("gap", YAGIURA, ya.replace("   6   1", "   6   1_0"), "token 8 (line 3)", "an integer (2x4 costs"),
        ("gap", YAGIURA, ya.replace("   6   1", "   6   \u0661"), "token 8 (line 3)", "an integer"),
        ("gap", YAGIURA, ya + "x\n", "token 21 (line 7)", "end of the file"),
        ("gap", YAGIURA, ya.replace("   8   6", "   8   x"), "token 20 (line 6)", "an integer (2 agent capacities)"),
        ("rcmax", RCMAX, rc.rstrip()[:-1], "token 20 (end of file after line 6)", "16 integer(s)"),
        ("rcmax", RCMAX, rc.replace("4 2 1", "-4 2 1"), "token 1 (line 1)", ">= 1"),
        ("rcmax", RCMAX, rc.replace("4 2 1", "4 2 3"), "token 3 (line 1)", "1 (the third field"),
        ("rcmax", RCMAX, rc.replace("\n2\n", "\n3\n"), "token 4 (line 2)", "2 (the number of machines"),
        ("rcmax", RCMAX, rc.replace("\t0\t4\t", "\tzero\t4\t"), "token 9 (line 4)", "an integer"),
        ("rcmax", RCMAX, rc.replace("\t1\t6\t0\t2", "\t1\t6\t1\t2"), "token 15 (line 5)", "machine index in 0..1"),
        ("rcmax", RCMAX, rc.replace("\t1\t6\t0\t2", "\t1\t6\t2\t2"), "token 15 (line 5)", "machine index in 0..1"),
        ("rcmax", RCMAX, rc.replace("\t1\t6\t0\t2", "\t1\t0\t0\t2"), "token 14 (line 5)", "processing time >= 1"),
        ("rcmax", RCMAX, rc + "0 1\n", "token 21 (line 7)", "end of the file"),
        ("vbp", VBP, "2\n10 8\n4\n5 3 1\n4 4 2\n6 1\n", "token 13 (end of file after line 6)", "12 integer(s)"),
        ("vbp", VBP, vb.replace("\n4\n", "\n-4\n"), "token 4 (line 3)", ">= 1"),
        ("vbp", VBP, vb.replace("4 4 2", "4 4 0"), "token 10 (line 5)", "multiplicity >= 1"),
        ("vbp", VBP, vb.replace("6 1 1", "6 ? 1"), "token 12 (line 6)", "an integer"),
        ("vbp", VBP, vb.replace("10 8", "10 -8"), "token 3 (line 2)", ">= 0"),
        ("vbp", VBP, vb.replace("\n4\n", "\n4000000\n"), "token 20 (end of file after line 8)", "12000000 integer(s)"),
    ]


@pytest.mark.parametrize("case", range(len(_variants())))
def test_malformed_files_raise_input_error(tmp_path: Path, case: int) -> None:
    fmt, sample, text, where, expected = _variants()[case]
    path = tmp_path / sample.name
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read(fmt, path)
    err = info.value
    assert err.file == str(path)
    assert err.path == where, str(err)
    assert expected in err.expected, str(err)
    assert err.found
    assert str(path) in str(err)


def test_vbp_trailing_text_is_ignored_but_a_bad_item_token_is_not(tmp_path: Path) -> None:
    path = tmp_path / "mini_4_2_0.vbp"
    path.write_text(VBP.read_text() + "% comment\n")
    (inst,) = read("vbp", path, known=False)
    assert inst.n_jobs == 5


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read("gap", tmp_path / "nothing")
    with pytest.raises(InputError, match="a directory"):
        read("vbp", tmp_path)


def test_bom_crlf_and_gzip_are_read(tmp_path: Path) -> None:
    text = RCMAX.read_bytes().replace(b"\n", b"\r\n")
    folder = tmp_path / "instancias1a100"
    folder.mkdir()
    (folder / "7.txt").write_bytes(b"\xef\xbb\xbf" + text)
    (folder / "7.txt.gz").write_bytes(gzip.compress(RCMAX.read_bytes()))
    base = read("rcmax", RCMAX, known=False)[0]
    crlf = read("rcmax", folder / "7.txt", known=False)[0]
    gz = read("rcmax", folder / "7.txt.gz", known=False)[0]
    assert gz.name == crlf.name == "instancias1a100-7"
    assert content_hash(base) == content_hash(crlf) == content_hash(gz)


# --------------------------------------------------------------------------- identity


@pytest.mark.parametrize(
    ("fmt", "path", "options"),
    [
        ("orlib-gap", ORLIB, {}),
        ("orlib-gap", ORLIB, {"sense": "max"}),
        ("gap", YAGIURA, {}),
        ("rcmax", RCMAX, {}),
        ("vbp", VBP, {}),
        ("vbp", VBP_SMALL, {}),
    ],
)
def test_import_is_deterministic_and_round_trips(tmp_path: Path, fmt: str, path: Path, options: dict) -> None:
    first = read(fmt, path, **options)
    second = read(fmt, path, **options)
    assert [content_hash(i) for i in first] == [content_hash(i) for i in second]
    for inst in first:
        target = tmp_path / f"{inst.name}.json"
        assert save(inst, target) == content_hash(inst)
        assert content_hash(load(target)) == content_hash(inst)


def test_sense_changes_the_hash() -> None:
    lo = read("orlib-gap", ORLIB)[0]
    hi = read("orlib-gap", ORLIB, sense="max")[0]
    assert content_hash(lo) != content_hash(hi)


def test_gap_instance_builder_is_public() -> None:
    inst = gap_mod.gap_instance(COST1, USE1, np.array(CAP1), name="built")
    assert inst.name == "built"
    np.testing.assert_array_equal(inst.jobs.cost, COST1.T)
