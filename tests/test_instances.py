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
    (("metadata", "generator"), {"name": "g", "version": "1", "seed": -1}, "$.metadata.generator.seed",
     "non-negative"),
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
    with pytest.raises(InputError, match=rf"per_type\.{t}\.time\[{j}\].*eligible"):
        from_document(bad)
    bad = copy.deepcopy(doc)
    bad["jobs"]["per_type"][t]["eligible"] = [False] * len(entry["eligible"])
    if len(doc["gpu_types"]) == 1:
        with pytest.raises(InputError):
            from_document(bad)
    bad = copy.deepcopy(doc)
    del bad["jobs"]["per_type"][t]["time"]
    with pytest.raises(InputError):
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
