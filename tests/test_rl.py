"""RL environments, agents and plugins (schedbench.rl, solvers/rl.py; docs/rl.md).

Skipped as a whole without the ``[rl]`` extra, except the tests that check what happens then."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from schedbench.cli.app import app

HAVE_RL = all(
    importlib.util.find_spec(m) is not None
    for m in ("gymnasium", "stable_baselines3", "sb3_contrib", "torch", "greenlet")
)
needs_rl = pytest.mark.skipif(
    not HAVE_RL, reason="the [rl] extra (gymnasium, sb3, sb3-contrib, torch, greenlet) is not installed"
)

SMALL = {"class": "online", "preset": None, "params": {"jobs": 40, "load": 1.2}}
CLI_SMALL = ["--window", "16", "-p", "jobs=40", "-p", "load=1.2"]
ALGOS = ("ppo", "dqn", "pg")


def _walk(env, policy, rng=None, limit=100_000):
    """Step ``env`` to the end choosing with ``policy(obs, mask) -> action``; returns the step infos."""
    obs, info = env.reset(seed=5)
    infos = [info]
    for _ in range(limit):
        obs, r, term, trunc, info = env.step(policy(obs, env.action_masks()))
        assert np.isfinite(r)
        infos.append(info)
        if term or trunc:
            return infos
    raise AssertionError("episode did not end")


# ------------------------------------------------------------------------------------------ environments
@needs_rl
@pytest.mark.parametrize("kind", ["queue", "placement"])
def test_check_env_passes(kind: str) -> None:
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    import schedbench.rl as rl
    import schedbench.rl.envs  # noqa: F401  (registers the environments)

    env = gym.make(rl.ENV_IDS[kind], source=SMALL).unwrapped
    check_env(env, skip_render_check=True)


@needs_rl
def test_source_may_be_an_instance_file(tmp_path: Path) -> None:
    from schedbench.instances.io import content_hash, load, save
    from schedbench.instances.model import Instance
    from schedbench.rl.envs import load_source

    root = Path(__file__).resolve().parents[1]
    inst = load(root / "instances" / "smoke" / "online-jct-s0.json")
    save(inst, tmp_path / "online.json")
    for given in (tmp_path / "online.json", str(tmp_path / "online.json")):
        got = load_source(given)
        assert isinstance(got, Instance) and content_hash(got) == content_hash(inst)
    static = next(p for p in sorted((root / "instances" / "smoke").glob("*.json")) if "online" not in p.name)
    with pytest.raises(ValueError, match="online instances"):
        load_source(static)


@needs_rl
def test_queue_mask_is_exactly_what_can_start_now() -> None:
    from schedbench.rl.envs import QueueEnv

    env = QueueEnv(SMALL, window=8)
    rng = np.random.default_rng(0)
    checked = 0

    def pick(obs, mask):
        nonlocal checked
        pol = env.policy
        v = pol.view
        window = list(v.waiting)[:8]
        assert np.array_equal(obs[-9:], mask.astype(np.float32))  # the mask is the observation's tail
        for i in range(8):
            assert mask[i] == (i < len(window) and v.fits(window[i])), (i, window)
        assert mask[8] == bool(v.running)  # wait only while some job runs: an idle cluster never starves
        checked += 1
        return int(rng.integers(0, 9))  # invalid choices included: replaced by the first allowed start

    infos = _walk(env, pick)
    assert checked > 30
    assert infos[-1]["metrics"]["feasible"] and infos[-1]["metrics"]["finished"] == 40
    assert infos[-1]["invalid_actions"] > 0


@needs_rl
def test_no_wait_queue_env_is_work_conserving() -> None:
    """With wait=False the wait action is never allowed: whenever a window job fits, one starts."""
    from schedbench.rl.envs import QueueEnv

    env = QueueEnv(SMALL, window=8, wait=False)
    seen = 0

    def pick(obs, mask):
        nonlocal seen
        assert not mask[8] and mask[:8].any()
        seen += 1
        return 8  # asks to wait: replaced by the first allowed start

    infos = _walk(env, pick)
    assert infos[-1]["invalid_actions"] == seen and infos[-1]["metrics"]["feasible"]


@needs_rl
def test_placement_mask_and_type_slots() -> None:
    from schedbench.rl.envs import PlacementEnv

    env = PlacementEnv(SMALL)
    placed = []

    def pick(obs, mask):
        pol = env.policy
        v = pol.view
        assert mask[4] == bool(v.running)
        k = int(obs[6 : 6 + 4 * 5].reshape(4, 5)[:, 0].sum())
        assert not mask[k:4].any()  # slots past the job's usable types are never allowed
        a = int(np.flatnonzero(mask)[-1])  # hold when allowed, else the slowest type that fits
        placed.append(a)
        return a

    infos = _walk(env, pick)
    assert infos[-1]["metrics"]["feasible"] and infos[-1]["metrics"]["finished"] == 40
    assert infos[-1]["invalid_actions"] == 0 and 4 in placed


@needs_rl
def test_queue_env_steps_the_same_engine_as_the_policies() -> None:
    """An agent that starts the head when it fits and waits otherwise is strict FCFS: the event log is
    the fcfs policy's, event for event."""
    from schedbench.generators import generate
    from schedbench.plugins.registry import get_registry
    from schedbench.rl.envs import QueueEnv
    from schedbench.simulator import Simulator

    inst = generate("online", {"jobs": 60, "load": 1.1}, 7)
    env = QueueEnv(inst, window=16, predictor="noisy", seeds=[3])
    infos = _walk(env, lambda obs, mask: 0 if mask[0] else 16)
    cls = get_registry().get("fcfs").load()
    ref = Simulator(inst, cls.make_policy(cls.resolve_params({})), predictor="noisy", sigma=0.5, seed=3).run()
    assert env.result is not None and env.result.events == ref.events
    assert infos[-1]["metrics"]["feasible"]


@needs_rl
def test_rewards_dense_and_sparse() -> None:
    from schedbench.rl.envs import QueueEnv

    first = lambda obs, mask: int(np.flatnonzero(mask)[0])  # noqa: E731
    env = QueueEnv(SMALL, window=8, reward="sparse")
    obs, _ = env.reset(seed=2)
    rewards, done, info = [], False, {}
    while not done:
        obs, r, done, _, info = env.step(first(obs, env.action_masks()))
        rewards.append(r)
    assert all(r == 0 for r in rewards[:-1])
    assert rewards[-1] == pytest.approx(-info["metrics"]["bounded_slowdown_mean"])
    # equal sizes, oracle predictor: the scale (running mean predicted time) is the size p, and the dense
    # rewards integrate jobs in system over time, so they sum to minus the total JCT over p
    from schedbench.simulator.build import from_arrays

    rel = np.cumsum(np.random.default_rng(1).exponential(20.0, 50))
    inst = from_arrays(rel, np.full(50, 100.0), gpus=4)
    dense = QueueEnv(inst, window=8, reward="dense", reward_scale=1.0, predictor="oracle")
    obs, _ = dense.reset(seed=2)
    total, done = 0.0, False
    while not done:
        obs, r, done, _, info = dense.step(int(np.flatnonzero(dense.action_masks())[-1]))
        assert r <= 0
        total += r
    assert total == pytest.approx(-info["metrics"]["jct_mean"] * 50 / 100.0, rel=1e-9)


@needs_rl
def test_same_reset_seed_same_episode_and_vector_envs() -> None:
    import gymnasium as gym

    from schedbench.rl.envs import QueueEnv

    def episode():
        env = QueueEnv(SMALL, window=8)
        obs, _ = env.reset(seed=11)
        out = [obs]
        done = False
        while not done:
            obs, _r, done, _, _ = env.step(int(np.flatnonzero(env.action_masks())[-1]))
            out.append(obs)
        return np.stack(out)

    assert np.array_equal(episode(), episode())
    vec = gym.vector.SyncVectorEnv([lambda: QueueEnv(SMALL, window=8) for _ in range(3)])
    obs, info = vec.reset(seed=[1, 2, 3])
    assert obs.shape == (3, 8 * 6 + 5 + 9)
    ended = 0
    for _ in range(400):  # after a terminal step (mask all false) the next step resets that env (any action)
        masks = info["action_mask"]
        obs, _r, term, _trunc, info = vec.step(np.array([int(np.flatnonzero(m)[0]) if m.any() else 0 for m in masks]))
        ended += int(term.sum())
    assert obs.shape[0] == 3 and ended >= 3


# ------------------------------------------------------------------------------------------ agents
@needs_rl
@pytest.mark.parametrize("algo", ALGOS)
def test_train_from_cli_is_reproducible(algo: str, tmp_path: Path) -> None:
    from schedbench.rl.train import parameters, read_meta

    paths = []
    for k in range(2):  # two trainings of 1000 steps with the same seed: identical parameters
        out = tmp_path / f"{algo}{k}.zip"
        res = CliRunner().invoke(
            app,
            [
                "rl",
                "train",
                "--algo",
                algo,
                "--env",
                "queue",
                "--timesteps",
                "1000",
                "--seed",
                "4",
                "-o",
                str(out),
                "--no-progress",
                *CLI_SMALL,
            ],
        )
        assert res.exit_code == 0, res.output
        paths.append(out)
    a, b = parameters(paths[0]), parameters(paths[1])
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    meta = read_meta(paths[0])
    assert meta["algo"] == algo and meta["timesteps"] == 1000 and meta["seed"] == 4 and meta["env"] == "queue"
    assert meta["env_kwargs"]["window"] == 16 and meta["env_kwargs"]["source"]["params"]["jobs"] == 40


@needs_rl
def test_masked_dqn_never_prefers_a_masked_action(tmp_path: Path) -> None:
    import torch

    from schedbench.rl.envs import QueueEnv
    from schedbench.rl.train import _masked_dqn_classes

    MaskedDQN, MaskedDQNPolicy = _masked_dqn_classes()
    env = QueueEnv(SMALL, window=8)
    model = MaskedDQN(MaskedDQNPolicy, env, seed=0, device="cpu", learning_starts=10)
    obs, _ = env.reset(seed=0)
    for _ in range(50):
        mask = env.action_masks()
        q = model.q_net(torch.as_tensor(obs)[None])[0]
        assert (q[torch.as_tensor(~mask)] <= -1e8).all() and (q[torch.as_tensor(mask)] > -1e8).all()
        for det in (True, False):  # greedy and epsilon-greedy actions are always allowed
            a, _ = model.predict(obs, deterministic=det)
            assert mask[int(a)]
        obs, _, done, _, _ = env.step(int(model.predict(obs, deterministic=False)[0]))
        if done:
            obs, _ = env.reset()


@needs_rl
def test_bad_arguments_are_one_line(tmp_path: Path) -> None:
    for args in (
        ["--algo", "a2c"],
        ["--algo", "pg", "--env", "x"],
        ["--algo", "pg", "-p", "load=-1"],
        ["--algo", "pg", "-o", str(tmp_path / "m.pt")],
    ):
        res = CliRunner().invoke(app, ["rl", "train", *args, "--no-progress"])
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output and res.output.count("error:") == 1


# ------------------------------------------------------------------------------------------ plugins
@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rl") / "pg.zip"
    res = CliRunner().invoke(
        app,
        [
            "rl",
            "train",
            "--algo",
            "pg",
            "--timesteps",
            "300",
            "--seed",
            "1",
            "-o",
            str(out),
            "--no-progress",
            *CLI_SMALL,
        ],
    )
    assert res.exit_code == 0, res.output
    return out


@needs_rl
def test_plugin_runs_a_given_model_and_every_log_validates(small_model: Path) -> None:
    from test_simulator import hetero

    from schedbench.plugins.registry import get_registry
    from schedbench.simulator import Simulator
    from schedbench.validator import validate

    inst = hetero(200, seed=3, overhead_model="helios")
    for name in ("rl-pg", "rl-ppo"):  # rl-ppo with a PG model: the file decides the algorithm
        cls = get_registry().get(name).load()
        params = cls.resolve_params({"model": str(small_model), "predictor": "noisy"})
        res = Simulator(inst, cls.make_policy(params), predictor="noisy", seed=1).run()
        verdict = validate(inst, res.solution())
        assert res.status == "complete" and verdict.feasible and verdict.metrics["finished"] == 200


@needs_rl
def test_plugin_replays_the_greedy_episode_of_the_environment(small_model: Path) -> None:
    """The plugin and the environment driven by the same model greedily produce the same event log."""
    from schedbench.generators import generate
    from schedbench.plugins.registry import get_registry
    from schedbench.rl.envs import QueueEnv
    from schedbench.rl.train import load_agent
    from schedbench.simulator import Simulator

    inst = generate("online", {"jobs": 60, "load": 1.2}, 9)
    meta, decide = load_agent(small_model)
    env = QueueEnv(inst, window=meta["env_kwargs"]["window"], predictor="noisy", seeds=[21])
    _walk(env, decide)
    cls = get_registry().get("rl-pg").load()
    pol = cls.make_policy(cls.resolve_params({"model": str(small_model)}))
    ref = Simulator(inst, pol, predictor="noisy", sigma=0.5, seed=21).run()
    assert env.result is not None and env.result.events == ref.events


@needs_rl
@pytest.mark.parametrize("name", ["rl-ppo", "rl-dqn", "rl-pg", "rl-ppo-placement"])
def test_shipped_models_pass_the_plugin_contract(name: str) -> None:
    from schedbench.plugins.registry import get_registry

    entry = get_registry().get(name)
    assert entry.family == "rl" and entry.available
    out = CliRunner().invoke(app, ["solvers", "test", name, "--time-limit", "60"])
    assert out.exit_code == 0, out.output
    assert "checks passed" in out.output


def test_missing_extra_lists_the_plugins_unavailable_with_the_reason(monkeypatch) -> None:
    from schedbench_solvers import rl as plugins

    import schedbench.plugins.registry as registry
    import schedbench.rl as rl

    real = importlib.util.find_spec
    monkeypatch.setattr(
        registry.importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("sb3_contrib", "torch") else real(name, *a),
    )
    entry = registry.entry_for_class(plugins.RlPpo, "test")
    assert not entry.available and entry.reason == "missing modules: sb3_contrib, torch"
    assert rl.missing() == ["sb3_contrib", "torch"]
    res = CliRunner().invoke(app, ["rl", "train", "--algo", "ppo", "-o", "x.zip"])
    assert res.exit_code == 2 and "[rl] extra is not installed (missing: sb3_contrib, torch)" in res.output


def test_plugin_module_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import schedbench_solvers.rl, schedbench.cli.rl; "
        "print(sorted(m for m in ('torch', 'gymnasium', 'stable_baselines3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
