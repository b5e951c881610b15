"""Fixtures of the adversarial suite (issue #11): tiny instances and one preloaded executor.

The attacks are the plugins in ``plugins/`` (Python solvers in ``attacks.py``, command solvers in
``*.toml`` running the programs in ``plugins/bin``) and the misbehaving ones of tests/plugins.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from schedbench.examples import examples
from schedbench.instances import make_instance, save
from schedbench.runner.execute import Executor
from schedbench.runs import RunTask

HERE = Path(__file__).resolve().parent
ADV_PLUGINS = HERE / "plugins"
OLD_PLUGINS = HERE.parent / "plugins"
PRELOAD = ("numpy",)


def _variant(inst, name: str, known: dict | None):
    meta = {"name": name}
    if known is not None:
        meta["known"] = known
    return make_instance(
        resources=inst.resources,
        gpu_types=inst.gpu_types,
        nodes=inst.nodes,
        jobs=inst.jobs,
        problem=inst.problem,
        metadata=meta,
    )


@pytest.fixture(scope="session")
def adv_files(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """name -> (path, content hash): ``placement`` (nothing known), ``published`` (an optimum of
    10.2525 published), ``planted`` (a generator's planted solution: upper bound 12)."""
    folder = tmp_path_factory.mktemp("adversarial")
    placement = examples()[0][0]
    out = {}
    for name, inst in (
        ("placement", _variant(placement, "placement", None)),
        ("published", _variant(placement, "published", {"optimum": 10.2525, "source": "test"})),
        (
            "planted",
            _variant(placement, "planted", {"upper_bound": 12.0, "source": "planted solution of the generator"}),
        ),
    ):
        path = folder / f"{name}.json"
        out[name] = (str(path), save(inst, path))
    return out


def adv_task(files, solver: str, instance: str = "placement", **kw) -> RunTask:
    path, digest = files[instance]
    args = dict(
        instance_path=path,
        instance_hash=digest,
        instance_name=instance,
        solver=solver,
        solver_version="1",
        params={},
        seed=0,
        time_limit=5.0,
        solvers_dirs=(str(ADV_PLUGINS), str(OLD_PLUGINS)),
    )
    args.update(kw)
    return RunTask(**args)


@pytest.fixture(scope="module")
def adv_executor():
    with Executor(PRELOAD) as ex:
        yield ex


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_quietly(pids) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
