"""Instance format: canonical round trips, hashes, gzip, strict errors, JSON Schema agreement."""

from __future__ import annotations

import copy
import gzip
import json

import jsonschema
import numpy as np
import pytest
from factories import feasible_allocation, feasible_batch, feasible_placement
from hypothesis import given, settings
from hypothesis import strategies as st

from schedbench import jsonio
from schedbench.errors import InputError
from schedbench.examples import examples
from schedbench.instances import content_hash, dumps, from_document, load, loads, save, to_document
from schedbench.instances.schema import instance_schema, solution_schema

SEEDS = st.integers(min_value=0, max_value=10_000)
FACTORIES = [feasible_placement, feasible_batch, feasible_allocation]


def all_examples():
    return [inst for inst, _ in examples()]


@settings(max_examples=30, deadline=None)
@given(SEEDS, st.sampled_from(FACTORIES))
def test_round_trip_keeps_bytes_and_hash(seed, factory):
    inst, _ = factory(seed)
    data = dumps(inst)
    again = loads(data)
    assert dumps(again) == data
    assert content_hash(again) == content_hash(inst)
    # a non-canonical rendering (indented, ints written as floats) reads back to the same hash
    doc = json.loads(data)
    doc["jobs"]["release"] = [float(x) for x in doc["jobs"]["release"]]
    assert content_hash(from_document(json.loads(json.dumps(doc, indent=3)))) == content_hash(inst)


def test_save_is_byte_identical_and_gzip_keeps_hash(tmp_path):
    inst = all_examples()[1]
    h1 = save(inst, tmp_path / "a.json")
    h2 = save(inst, tmp_path / "b.json")
    h3 = save(inst, tmp_path / "c.json.gz")
    h4 = save(inst, tmp_path / "d.json.gz")
    assert h1 == h2 == h3 == h4 == content_hash(inst)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert (tmp_path / "c.json.gz").read_bytes() == (tmp_path / "d.json.gz").read_bytes()
    assert gzip.decompress((tmp_path / "c.json.gz").read_bytes()) == (tmp_path / "a.json").read_bytes()
    assert content_hash(load(tmp_path / "c.json.gz")) == h1


def test_canonical_numbers():
    assert jsonio.canonical_list(np.array([1.0, 2.5, np.nan, -3.0, 1e300])) == [1, 2.5, None, -3, 1e300]
    assert jsonio.dumps_canonical({"b": 1.0, "a": [0.1, 2]}) == b'{"a":[0.1,2],"b":1}'
    with pytest.raises(ValueError):
        jsonio.dumps_canonical({"x": float("inf")})


@pytest.mark.parametrize("inst", all_examples(), ids=lambda i: i.name)
def test_documents_satisfy_the_json_schema(inst):
    jsonschema.validate(json.loads(dumps(inst)), instance_schema())


def test_example_solutions_satisfy_the_solution_schema():
    for _, sols in examples():
        for _, sol in sols:
            jsonschema.validate(sol, solution_schema())


def base_doc():
    inst, _ = feasible_batch(7)
    return json.loads(dumps(inst))


def _set(doc, path, value):
    obj = doc
    for key in path[:-1]:
        obj = obj[key]
    if value is DELETE:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


DELETE = object()

# (mutation path, new value, expected JSON path in the message, words expected in the message)
MALFORMED = [
    (("schema",), "schedbench/instance/0", "$.schema", "schedbench/instance/1"),
    (("problem", "class"), "scheduling", "$.problem.class", "one of"),
    (("problem", "objective"), "min-cost", "$.problem.objective", "makespan"),
    (("problem", "params"), {"speed": 1}, "$.problem.params.speed", "unknown parameter"),
    (("problem", "params"), {"allow_multi_node": "yes"}, "$.problem.params.allow_multi_node", "true or false"),
    (("jobs", "gang", 0), 0, "$.jobs.gang[0]", ">= 1"),
    (("jobs", "gang", 1), 1.5, "$.jobs.gang[1]", "integer"),
    (("jobs", "release", 2), "soon", "$.jobs.release[2]", "finite number"),
    (("jobs", "release", 2), -4, "$.jobs.release[2]", ">= 0"),
    (("jobs", "weight"), [1, 2], "$.jobs.weight", "length"),
    (("jobs", "id", 1), "job0", "$.jobs.id[1]", "duplicate"),
    (("jobs", "id", 1), "", "$.jobs.id[1]", "non-empty string"),
    (("jobs", "nonsense"), [], "$.jobs.nonsense", "unknown field"),
    (("jobs", "gang"), DELETE, "$.jobs.gang", "required"),
    (("gpu_types", 0, "capacity", "compute"), -1, "$.gpu_types[0].capacity.compute", ">= 0"),
    (("gpu_types", 0, "capacity", "memory_gib"), None, "$.gpu_types[0].capacity.memory_gib", "finite number"),
    (("cluster", "nodes", 0, "gpu_type"), "Z80", "$.cluster.nodes[0].gpu_type", "GPU type id"),
    (("cluster", "nodes", 0, "gpus"), [], "$.cluster.nodes[0].gpus", "at least one"),
    (("resources",), [], "$.resources", "at least one"),
    (("metadata",), {}, "$.metadata.name", "required"),
    (("metadata", "generator"), {"name": "g", "version": "1", "seed": -1}, "$.metadata.generator.seed", "non-negative"),
]


@pytest.mark.parametrize(("path", "value", "where", "words"), MALFORMED, ids=[m[2] for m in MALFORMED])
def test_malformed_documents_name_path_and_expectation(path, value, where, words):
    doc = base_doc()
    _set(doc, path, value)
    with pytest.raises(InputError) as exc:
        from_document(doc, "bad.json")
    msg = str(exc.value)
    assert msg.startswith("bad.json: at ")
    assert exc.value.path == where, msg
    assert words in msg, msg


def test_per_type_nulls_must_match_eligibility():
    doc = base_doc()
    t = next(iter(doc["jobs"]["per_type"]))
    entry = doc["jobs"]["per_type"][t]
    j = entry["eligible"].index(True)
    bad = copy.deepcopy(doc)
    bad["jobs"]["per_type"][t]["time"][j] = None
    with pytest.raises(InputError, match=rf"per_type\.{t}\.time\[{j}\]: expected a number \(the job is eligible"):
        from_document(bad)
    # eligible nowhere on this type, but its values are still given: named at the first one
    bad = copy.deepcopy(doc)
    bad["jobs"]["per_type"][t]["eligible"] = [False] * len(entry["eligible"])
    first = next(iter(doc["resources"]))["id"]
    with pytest.raises(
        InputError,
        match=rf"per_type\.{t}\.demand\.{first}\[0\]: expected null \(the job is not "
        "eligible",
    ):
        from_document(bad)
    bad = copy.deepcopy(doc)
    del bad["jobs"]["per_type"][t]["time"]
    with pytest.raises(InputError, match=r"per_type\.t1\.time: expected no 'time'"):
        from_document(bad)


def test_strict_json(tmp_path):
    cases = {
        "nan.json": b'{"schema": NaN}',
        "dup.json": b'{"schema": 1, "schema": 2}',
        "trunc.json": b'{"schema": "schedbench/instance/1", "metadata": {',
        "latin1.json": b'{"schema": "\xe9"}',
        "list.json": b"[1, 2, 3]",
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "gzip.json.gz": b"\x1f\x8b\x08\x00garbage",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InputError) as exc:
            load(path)
        assert str(path) in str(exc.value)
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / "missing.json")


def test_size_cap(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 2000 + b"{}")
    monkeypatch.setattr(jsonio, "MAX_FILE_BYTES", 1000)
    with pytest.raises(InputError, match="at most 1000 bytes"):
        load(path)
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b" " * 100_000 + b"{}"))
    monkeypatch.setattr(jsonio, "MAX_FILE_BYTES", 1 << 20)
    monkeypatch.setattr(jsonio, "MAX_JSON_BYTES", 10_000)
    with pytest.raises(InputError, match="decompressed"):
        load(bomb)


def test_to_document_is_inverse_of_from_document():
    for inst in all_examples():
        assert from_document(to_document(inst)).summary() == inst.summary()


# ------------------------------------------------------------------ every loader check, one at a time
# Each case edits a valid batch document (``base_doc()``: types t0, t1, t2 with 7, 8 and 3 GPUs;
# job1 is eligible for t0 and t2 only; every job has per-type time and cost) in ONE place and names
# the JSON path and the words the error must carry. Written so that deleting any one ``raise`` of the
# loader, or flipping one of its comparisons, fails at least one case (tools/mutate.py checks this).


def _edit(fn):
    doc = base_doc()
    fn(doc)
    return doc


def _setp(path, value):
    return lambda doc: _set(doc, path, value)


def _dup_gpu_across_nodes(doc):
    doc["cluster"]["nodes"][1]["gpus"][2] = doc["cluster"]["nodes"][0]["gpus"][1]


def _dup_gpu_within_node(doc):
    doc["cluster"]["nodes"][0]["gpus"][2] = doc["cluster"]["nodes"][0]["gpus"][0]


def _time_only_on_later_type(doc):
    del doc["jobs"]["per_type"]["t0"]["time"]


def _time_missing_on_later_type(doc):
    del doc["jobs"]["per_type"]["t1"]["time"]


def _no_time_anywhere(doc):
    for entry in doc["jobs"]["per_type"].values():
        del entry["time"]


def _job_without_type(doc):
    # job1 is eligible for t0 and t2 only; make it ineligible there too (nulling its per-type values)
    for t in ("t0", "t2"):
        entry = doc["jobs"]["per_type"][t]
        entry["eligible"][1] = False
        for arr in (entry["time"], entry["cost"], *entry["demand"].values()):
            arr[1] = None


def _gang_above_every_type(doc):
    doc["jobs"]["gang"][1] = 8  # job1 may use t0 (7 GPUs) and t2 (3 GPUs) only


LOADER_CASES = [
    # _Ctx.obj / string / number / array / strings / numbers / booleans
    (_setp(("problem",), []), "$.problem", "an object"),
    (_setp(("jobs", "per_type", "t1"), 5), "$.jobs.per_type.t1", "an object"),
    (_setp(("metadata", "name"), ""), "$.metadata.name", "a non-empty string"),
    (_setp(("metadata", "name"), None), "$.metadata.name", "a non-empty string"),
    (_setp(("metadata", "name"), 7), "$.metadata.name", "a non-empty string"),
    (_setp(("gpu_types", 1, "cost_per_hour"), -0.5), "$.gpu_types[1].cost_per_hour", ">= 0"),
    (_setp(("gpu_types", 1, "cost_per_hour"), "free"), "$.gpu_types[1].cost_per_hour", "finite number or null"),
    (_setp(("gpu_types", 2, "peak_tflops"), -1), "$.gpu_types[2].peak_tflops", ">= 0"),
    (_setp(("gpu_types", 2, "peak_tflops"), float("inf")), "$.gpu_types[2].peak_tflops", "finite number"),
    (_setp(("gpu_types", 0, "capacity", "compute"), True), "$.gpu_types[0].capacity.compute", "finite number"),
    (_setp(("gpu_types", 0, "capacity"), {"compute": 1}), "$.gpu_types[0].capacity.memory_gib", "required"),
    (_setp(("jobs", "release"), {"0": 1}), "$.jobs.release", "an array of length 12"),
    (_setp(("cluster", "nodes"), "n0"), "$.cluster.nodes", "an array"),
    (_setp(("jobs", "id"), "job0"), "$.jobs.id", "an array"),
    (_setp(("jobs", "id", 3), 3), "$.jobs.id[3]", "a non-empty string"),
    (_setp(("jobs", "job_type"), ["a"] * 11 + [5]), "$.jobs.job_type[11]", "a non-empty string or null"),
    (_setp(("jobs", "tenant"), ["x"] * 11 + [""]), "$.jobs.tenant[11]", "a non-empty string or null"),
    (_setp(("jobs", "weight", 4), None), "$.jobs.weight[4]", "a finite number"),
    (_setp(("jobs", "weight", 4), True), "$.jobs.weight[4]", "a finite number"),
    (_setp(("jobs", "weight", 4), -0.001), "$.jobs.weight[4]", ">= 0.0"),
    (_setp(("jobs", "release", 5), 10**400), "$.jobs.release", "double range"),
    (_setp(("jobs", "release", 5), float("inf")), "$.jobs.release[5]", "a finite number"),
    (_setp(("jobs", "deadline", 3), -1), "$.jobs.deadline[3]", ">= 0.0"),
    (_setp(("jobs", "deadline", 3), float("-inf")), "$.jobs.deadline[3]", "a finite number or null"),
    (_setp(("jobs", "gang", 2), 0.5), "$.jobs.gang[2]", "an integer"),
    (_setp(("jobs", "gang", 2), None), "$.jobs.gang[2]", "an integer"),
    (_setp(("jobs", "gang", 3), 2**63), "$.jobs.gang[3]", "64-bit range"),  # exactly 2^63: wraps in int64
    (_setp(("jobs", "gang", 3), -(2**63)), "$.jobs.gang[3]", "64-bit range"),
    (_setp(("jobs", "release", 7), -1), "$.jobs.release[7]", ">= 0.0"),  # after a release of exactly 0 (job6)
    (_setp(("jobs", "per_type", "t2", "eligible", 0), 1), "$.jobs.per_type.t2.eligible[0]", "true or false"),
    (_setp(("jobs", "per_type", "t2", "time", 3), 0), "$.jobs.per_type.t2.time[3]", "a number > 0"),
    (_setp(("jobs", "per_type", "t2", "time", 3), -2.5), "$.jobs.per_type.t2.time[3]", "a number > 0"),
    (
        _setp(("jobs", "per_type", "t2", "demand", "compute", 3), -1e-9),
        "$.jobs.per_type.t2.demand.compute[3]",
        ">= 0.0",
    ),
    (_setp(("jobs", "per_type", "t0", "time", 5), 7.0), "$.jobs.per_type.t0.time[5]", "null (the job is not eligible"),
    (_setp(("jobs", "per_type", "t0", "cost", 1), None), "$.jobs.per_type.t0.cost[1]", "a number (the job is eligible"),
    # duplicate and empty ids
    (_setp(("resources", 1, "id"), "memory_gib"), "$.resources[1]", "duplicate id 'memory_gib'"),
    (_setp(("resources", 1, "id"), ""), "$.resources[1].id", "a non-empty string"),
    (_setp(("resources", 0, "unit"), 3), "$.resources[0].unit", "a string"),
    (_setp(("gpu_types", 2, "id"), "t0"), "$.gpu_types[2]", "duplicate id 't0'"),
    (_setp(("gpu_types",), []), "$.gpu_types", "at least one GPU type"),
    (_setp(("cluster", "nodes", 3, "id"), "n0"), "$.cluster.nodes[*].id[3]", "duplicate id 'n0'"),
    (_setp(("cluster", "nodes", 2, "id"), None), "$.cluster.nodes[2].id", "a non-empty string"),
    (_setp(("cluster", "nodes"), []), "$.cluster.nodes", "at least one node"),
    (_dup_gpu_across_nodes, "$.cluster.nodes[1].gpus[2]", "duplicate id 'n0/g1'"),
    (_dup_gpu_within_node, "$.cluster.nodes[0].gpus[2]", "duplicate id 'n0/g0'"),
    # problem
    (_setp(("problem", "objective"), 3), "$.problem.objective", "makespan"),
    (_setp(("problem", "params"), ["allow_multi_node"]), "$.problem.params", "an object"),
    # per-type fields present on some types only, or missing for the objective; unusable jobs
    (_time_only_on_later_type, "$.jobs.per_type.t1.time", "no 'time' (GPU type 't0' has none)"),
    (_time_missing_on_later_type, "$.jobs.per_type.t1.time", "a 'time' array (GPU type 't0' has one)"),
    (_no_time_anywhere, "$.jobs.per_type.t0", "per-type 'time' arrays (needed by batch/makespan)"),
    (_job_without_type, "$.jobs.per_type (job 'job1', row 1)", "at least gang-size GPUs"),
    (_gang_above_every_type, "$.jobs.per_type (job 'job1', row 1)", "at least gang-size GPUs"),
    # metadata
    (_setp(("metadata", "known"), {"optimum": "12"}), "$.metadata.known.optimum", "finite number or null"),
    (_setp(("metadata", "known"), {"best": 1}), "$.metadata.known.best", "unknown field"),
    (_setp(("metadata", "generator"), {"name": "", "version": "1"}), "$.metadata.generator.name", "non-empty"),
    (_setp(("metadata", "generator"), {"name": "g", "version": 1}), "$.metadata.generator.version", "non-empty"),
    (
        _setp(("metadata", "generator"), {"name": "g", "version": "1", "seed": "3"}),
        "$.metadata.generator.seed",
        "a non-negative integer",
    ),
    (
        _setp(("metadata", "generator"), {"name": "g", "version": "1", "seed": 2.0}),
        "$.metadata.generator.seed",
        "a non-negative integer",
    ),
]


@pytest.mark.parametrize(
    ("edit", "where", "words"), LOADER_CASES, ids=[f"{k}:{c[1]}" for k, c in enumerate(LOADER_CASES)]
)
def test_each_loader_check_names_path_and_expectation(edit, where, words):
    doc = _edit(edit)
    with pytest.raises(InputError) as exc:
        from_document(doc, "bad.json")
    msg = str(exc.value)
    assert exc.value.path == where, msg
    assert words in msg, msg
    assert msg.startswith("bad.json: at ")


def _placement_doc(**params):
    inst, _ = feasible_placement(3, "min-gpus")
    doc = json.loads(dumps(inst))
    doc["problem"]["params"] = params
    return doc


def test_problem_parameter_kinds_and_minimum():
    doc = _placement_doc(measure="weight")
    with pytest.raises(InputError, match=r"params\.measure.*one of \['count', 'cost'\]"):
        from_document(doc)
    doc = _placement_doc(measure="cost")  # min-gpus priced by cost_per_hour: every type needs a price
    for t in doc["gpu_types"]:
        t.pop("cost_per_hour", None)
    with pytest.raises(InputError) as exc:
        from_document(doc)
    assert exc.value.path == "$.gpu_types[0].cost_per_hour" and "a price" in str(exc.value)
    for k, t in enumerate(doc["gpu_types"]):
        t["cost_per_hour"] = 0 if k == 0 else 1.5  # exactly the minimum is a price
    inst = from_document(doc)
    assert inst.problem.params["measure"] == "cost" and inst.gpu_types[0].cost_per_hour == 0.0
    inst, _ = feasible_batch(1)
    online = json.loads(dumps(inst))
    online["problem"] = {"class": "online", "objective": "mean-jct", "params": {"slowdown_threshold_s": -1}}
    with pytest.raises(InputError) as exc:
        from_document(online)
    assert exc.value.path == "$.problem.params.slowdown_threshold_s" and ">= 0.0" in str(exc.value)
    online["problem"]["params"] = {"slowdown_threshold_s": 0, "allow_preemption": False}
    got = from_document(online).problem.params
    assert got["slowdown_threshold_s"] == 0.0 and type(got["slowdown_threshold_s"]) is float
    assert got["allow_preemption"] is False and got["allow_migration"] is True  # defaults completed


def test_values_exactly_at_their_minimum_are_accepted():
    doc = base_doc()
    doc["jobs"]["release"][3] = 0
    doc["jobs"]["weight"][3] = 0
    doc["jobs"]["deadline"][3] = 0
    doc["jobs"]["gang"][3] = 1
    doc["jobs"]["per_type"]["t2"]["demand"]["compute"][3] = 0
    doc["jobs"]["per_type"]["t2"]["time"][3] = 1e-300  # positive, however small
    doc["jobs"]["per_type"]["t2"]["cost"][3] = 0
    doc["gpu_types"][1]["capacity"]["compute"] = 0
    doc["gpu_types"][1]["cost_per_hour"] = 0
    doc["gpu_types"][1]["peak_tflops"] = 0
    doc["metadata"]["generator"] = {"name": "g", "version": "1", "seed": 0}
    doc["metadata"]["known"] = {"optimum": None, "lower_bound": 0}
    doc["jobs"]["job_type"] = ["a", None] * 6
    inst = from_document(doc)
    jobs = inst.jobs
    assert (jobs.release[3], jobs.weight[3], jobs.deadline[3], jobs.gang[3]) == (0, 0, 0, 1)
    assert jobs.time[3, 2] == 1e-300 and jobs.demand[3, 2, inst.resource_ids.index("compute")] == 0
    assert inst.gpu_types[1].capacity["compute"] == 0 and inst.gpu_types[1].cost_per_hour == 0
    assert jobs.job_type[:2] == ("a", None)
    # a gang exactly as large as the GPU count of a type it may use is usable: job1 -> t0 (7 GPUs)
    doc = base_doc()
    doc["jobs"]["gang"][1] = 7
    assert from_document(doc).jobs.gang[1] == 7


def test_loader_errors_are_not_masked_by_later_checks():
    """A per-type array of the wrong type is named at its element, not later as a length or null error."""
    doc = base_doc()
    doc["jobs"]["per_type"]["t2"]["time"][0] = "fast"
    with pytest.raises(InputError) as exc:
        from_document(doc)
    assert exc.value.path == "$.jobs.per_type.t2.time[0]" and "a finite number or null" in str(exc.value)


def test_canonical_document_writes_non_defaults_only_and_keeps_prices():
    doc = _placement_doc(measure="cost")
    for k, t in enumerate(doc["gpu_types"]):
        t["cost_per_hour"] = 1.5 + k
        t["peak_tflops"] = 100.0 + k
    inst = from_document(doc)
    out = to_document(inst)
    assert out["problem"] == {"class": "placement", "objective": "min-gpus", "params": {"measure": "cost"}}
    assert [t["cost_per_hour"] for t in out["gpu_types"]] == [1.5 + k for k in range(len(doc["gpu_types"]))]
    assert [t["peak_tflops"] for t in out["gpu_types"]] == [100 + k for k in range(len(doc["gpu_types"]))]
    again = from_document(out)
    assert [t.cost_per_hour for t in again.gpu_types] == [t.cost_per_hour for t in inst.gpu_types]
    plain = to_document(from_document(_placement_doc(measure="count", allow_multi_node=False)))
    assert plain["problem"] == {"class": "placement", "objective": "min-gpus"}  # defaults are not written
    assert all("cost_per_hour" not in t and "peak_tflops" not in t for t in plain["gpu_types"])
