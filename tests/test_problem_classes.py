"""Problem classes are objects in one registry: the built-ins, collisions, and an add-on class.

The add-on class (``single-machine``: jobs run one at a time on the whole cluster, in the order the
solution gives) is written to a temporary module that registers it exactly as the built-in modules
in ``schedbench/classes/`` do; the test then shows that the loader, the schema, the validator, the
bounds, the generator, the examples and the random-feasible baseline handle it without any other
file knowing its name.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from dataclasses import replace

import jsonschema
import pytest

from schedbench.errors import DataError
from schedbench.examples import examples
from schedbench.generators import generate, param_specs
from schedbench.instances import dumps, loads
from schedbench.instances.problems import BUILTIN_CLASS_MODULES, PROBLEM_CLASSES, ClassParam, register
from schedbench.instances.schema import instance_schema, solution_schema
from schedbench.plugins.solver import Context
from schedbench.validator import bounds, validate
from solvers.baseline import RandomFeasible

TOY = '''
"""Add-on problem class: one machine (the whole cluster), jobs in sequence; objective total completion."""

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from schedbench.errors import DataError, describe
from schedbench.examples import example_jobs, make_example
from schedbench.generators import spec as S
from schedbench.instances.model import Instance, Problem
from schedbench.instances.problems import BaselineAnswer, ClassParam, Objective, ProblemClass, register
from schedbench.validator.bounds import row_min, usable_types


def _times(inst: Instance) -> np.ndarray:
    return row_min(inst.jobs.time, usable_types(inst)) * inst.problem.params["speed"]


def validate_toy(inst: Instance, body: Any, file: str, viol: Any) -> tuple[float | None, dict]:
    if not isinstance(body, list) or not all(isinstance(j, str) for j in body):
        raise DataError(file, "$.sequence", "an array of job ids", describe(body))
    index = inst.jobs.index
    seen = set()
    for jid in body:
        if jid not in index:
            viol.add("unknown-job", f"the sequence names unknown job {jid!r}", job=jid)
        elif jid in seen:
            viol.add("duplicate-job", f"job {jid!r} appears more than once", job=jid)
        seen.add(jid)
    for jid in inst.jobs.ids:
        if jid not in seen:
            viol.add("unscheduled", f"job {jid!r} is not in the sequence", job=jid)
    if viol:
        return None, {}
    p = _times(inst)
    t, total = 0.0, 0.0
    for jid in body:
        j = index[jid]
        t = max(t, float(inst.jobs.release[j])) + float(p[j])
        total += t
    return total, {"finish": t}


def toy_bounds(inst: Instance) -> dict[str, float]:
    return {"lower_bound": float((inst.jobs.release + _times(inst)).sum())}


def _example():
    inst = make_example("example-single-machine", Problem("single-machine", "total-completion"), example_jobs())
    return inst, [("input-order", {"problem": "single-machine", "sequence": list(inst.jobs.ids)})]


def _baseline(inst: Instance, rng: np.random.Generator, params: Mapping[str, Any],
              remaining: Callable[[], float]) -> BaselineAnswer:
    order = rng.permutation(inst.n_jobs).tolist()
    return BaselineAnswer({"problem": "single-machine", "sequence": [inst.jobs.ids[j] for j in order]}, "feasible")


TOY = register(ProblemClass(
    name="single-machine",
    description="one machine: jobs run alone on the whole cluster, one after another",
    body_key="sequence",
    objectives=(Objective("total-completion", "min", ("time",), "sum of completion times"),),
    params=(ClassParam("speed", float, 1.0, "time multiplier", minimum=0.0),),
    solution_body={"type": "array", "items": {"type": "string"}},
    validate=validate_toy,
    bounds=toy_bounds,
    generator_params=(S.ParamSpec("note", "", "a free text the generator ignores", str),),
    example=_example,
    baseline=_baseline,
))
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The add-on class, registered by importing its module; unregistered afterwards."""
    (tmp_path / "toy_single_machine.py").write_text(textwrap.dedent(TOY), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("toy_single_machine")
    try:
        yield module.TOY
    finally:
        PROBLEM_CLASSES.unregister("single-machine")
        sys.modules.pop("toy_single_machine", None)


def test_builtin_classes_registered_in_order():
    # one module per class, named after it, registered in the order of BUILTIN_CLASS_MODULES
    assert [m.rsplit(".", 1)[-1] for m in BUILTIN_CLASS_MODULES] == list(PROBLEM_CLASSES)
    assert list(PROBLEM_CLASSES)[:4] == ["placement", "batch", "allocation", "online"]
    keys = {name: PROBLEM_CLASSES[name].body_key for name in ("placement", "batch", "allocation", "online")}
    assert keys == {"placement": "assignment", "batch": "schedule", "allocation": "allocation", "online": "events"}
    for cls in PROBLEM_CLASSES.values():
        assert cls.objectives and all(o.sense in ("min", "max") for o in cls.objectives)
        assert all(isinstance(p, ClassParam) for p in cls.params)


def test_registry_refuses_collisions():
    placement = PROBLEM_CLASSES["placement"]
    with pytest.raises(ValueError, match="already registered"):
        register(placement)
    with pytest.raises(ValueError, match="body key 'assignment'"):
        register(replace(placement, name="placement-2"))
    assert "placement-2" not in PROBLEM_CLASSES
    with pytest.raises(ValueError, match="built-in"):
        PROBLEM_CLASSES.unregister("placement")


def test_class_param_is_distinct_from_solver_param():
    import schedbench

    assert ClassParam is not schedbench.Param
    assert ClassParam.__name__ == "ClassParam"


def test_add_on_class_example_validates_and_bounds(toy):
    ((inst, sols),) = [e for e in examples() if e[0].problem.cls == "single-machine"]
    assert inst.problem.params == {"speed": 1.0}  # class parameter defaults filled in
    name, sol = sols[0]
    res = validate(inst, sol, name)
    assert res.feasible and res.objective_name == "total-completion" and res.sense == "min"
    # input order j0..j4 on the fastest type: completion times accumulate
    p = [3600.0, 1800.0, 5400.0, 2400.0, 900.0]
    expected = sum(sum(p[: k + 1]) for k in range(5))
    assert res.objective == pytest.approx(expected)
    assert bounds(inst) == {"lower_bound": pytest.approx(sum(p))}
    bad = validate(inst, {"problem": "single-machine", "sequence": ["j0", "j0", "zz"]})
    assert not bad.feasible
    assert set(bad.violation_counts) == {"duplicate-job", "unknown-job", "unscheduled"}
    with pytest.raises(DataError):
        validate(inst, {"problem": "single-machine", "sequence": {"j0": 1}})
    with pytest.raises(DataError):  # the envelope knows the class's body key
        validate(inst, {"problem": "single-machine", "assignment": {}})


def test_add_on_class_loader_and_schema(toy):
    ((inst, sols),) = [e for e in examples() if e[0].problem.cls == "single-machine"]
    text = dumps(inst).decode()
    back = loads(text.encode(), "<toy>")
    assert back.problem.cls == "single-machine" and dumps(back).decode() == text
    jsonschema.validate(__import__("json").loads(text), instance_schema())
    for _, sol in sols:
        jsonschema.validate(sol, solution_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"problem": "single-machine", "assignment": {}}, solution_schema())
    negative = text.replace('"objective":"total-completion"', '"objective":"total-completion","params":{"speed":-1}')
    with pytest.raises(DataError, match="speed"):
        loads(negative.encode(), "<toy>")


def test_add_on_class_generator_and_baseline(toy):
    names = [s.name for s in param_specs("single-machine")]
    assert names[-2:] == ["objective", "note"]
    inst = generate("single-machine", {"jobs": 6, "cluster": "tiny", "note": "x"}, seed=1)
    assert inst.problem.cls == "single-machine" and inst.n_jobs == 6
    assert loads(dumps(inst), "<gen>").problem == inst.problem
    answers = []
    for _ in range(2):
        result = RandomFeasible().solve(inst, Context(time_limit=5.0, seed=3, params={"attempts": 1}))
        assert result.status == "feasible"
        res = validate(inst, result.solution)
        assert res.feasible and res.objective >= bounds(inst)["lower_bound"]
        answers.append(result.solution)
    assert answers[0] == answers[1]  # seeded


def test_unregistered_class_is_refused_everywhere():
    with pytest.raises(KeyError):
        param_specs("single-machine")
    from schedbench.errors import InputError

    with pytest.raises(InputError, match="one of"):
        generate("single-machine", {}, seed=0)


def test_registry_complete_for_concurrent_first_readers():
    """Threads that read the registry while another thread imports the built-in classes wait for all four."""
    import subprocess

    code = (
        "import threading\n"
        "from schedbench.instances.problems import PROBLEM_CLASSES as R\n"
        "out = []\n"
        "ts = [threading.Thread(target=lambda: out.append(len(R))) for _ in range(8)]\n"
        "[t.start() for t in ts]\n[t.join() for t in ts]\nprint(out)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert res.stdout.strip() == str([len(BUILTIN_CLASS_MODULES)] * 8)


def test_registry_order_does_not_depend_on_import_order() -> None:
    """Importing a built-in class module first (as a user script may) registers nothing by itself:
    every built-in is present, built-in, and in BUILTIN_CLASS_MODULES order."""
    import subprocess
    import sys

    code = (
        "import schedbench.classes.online, schedbench.classes.placement\n"
        "from schedbench.instances.problems import PROBLEM_CLASSES as P\n"
        "print(','.join(P), ','.join(sorted(P._builtin)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["placement,batch,allocation,online", "allocation,batch,online,placement"]
