"""Gymnasium environments on the online simulator: ``schedbench/Queue-v0`` and ``schedbench/Placement-v0``
(registered when this module is imported).

Each environment runs the simulator's event engine (:class:`~schedbench.simulator.Simulator`, the
same engine and :class:`~schedbench.simulator.View` as every policy; no second simulator) in a
greenlet with a decision-point policy from :mod:`schedbench.rl.agents`. At a decision point the
engine switches back to the environment, which returns the observation; ``step(action)`` switches
into the engine with the action, and the engine runs on (events, arrivals, completions) until the
next decision point or the end of the instance.

Episodes: ``source`` is an online :class:`~schedbench.instances.model.Instance`, a path to one, or
a generator spec ``{"class": "online", "preset": ..., "params": {...}}`` (``preset`` optional).
With a spec each episode generates a fresh instance whose seed is drawn from the environment's
``np_random`` (seeded by ``reset(seed=...)``), or taken in turn from ``seeds`` when given (held-out
evaluation). The predictor (``noisy`` by default, sigma 0.5) is seeded by the same episode seed, so
an episode is a pure function of the reset seed and the actions.

Rewards (``reward``): ``dense`` (default) gives at each step minus the integral of the number of
jobs in the system over the simulated time since the previous decision, divided by the running
mean predicted job time (so rewards sum to minus the total JCT in those units: Little's law makes
it a proxy for mean JCT); ``sparse`` gives 0 until the last step, then minus the mean bounded
slowdown recomputed by the validator. The terminal ``info`` holds the validator's metrics of the
episode's event log (``metrics``) either way, and every step's ``info`` the ``action_mask``.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from greenlet import greenlet

from schedbench.instances.model import Instance
from schedbench.rl.agents import make_agent_policy
from schedbench.simulator.engine import SimulationResult, Simulator

#: Training distribution by default: the online generator's Philly-fitted jobs (gangs, heavy-tailed
#: durations) on its heterogeneous default cluster (K80, P100, V100), 200 jobs at load 0.9.
DEFAULT_SOURCE: dict[str, Any] = {"class": "online", "preset": None, "params": {"jobs": 200, "load": 0.9}}


def load_source(source: Any) -> Instance | dict[str, Any]:
    """An :class:`Instance`, or a checked generator spec, from what the caller gave."""
    if isinstance(source, Instance):
        if source.problem.cls != "online":
            raise ValueError(f"the RL environments run online instances, not {source.problem.cls!r}")
        return source
    if isinstance(source, (str, Path)):
        from schedbench.instances.io import load

        return load_source(load(Path(source)))
    if isinstance(source, dict):
        unknown = set(source) - {"class", "preset", "params"}
        if unknown:
            raise ValueError(f"generator spec: unknown key(s) {sorted(unknown)}; expected class, preset, params")
        return {
            "class": source.get("class", "online"),
            "preset": source.get("preset"),
            "params": dict(source.get("params", {})),
        }
    raise TypeError(
        f"source: expected an online Instance, a path or a generator spec dict, got {type(source).__name__}"
    )


def make_instance(spec: dict[str, Any], seed: int) -> Instance:
    """Generate the instance of generator ``spec`` for ``seed``."""
    from schedbench.generators import generate
    from schedbench.generators.presets import resolve

    params = resolve(spec["class"], spec.get("preset"), spec.get("params", {}), source="rl env source")
    return generate(spec["class"], params, int(seed), source="rl env source")


class SchedulingEnv(gym.Env):
    """Base of the two environments (``kind`` ``queue`` or ``placement``); see the module docstring.

    Args:
        source: instance, path or generator spec (default :data:`DEFAULT_SOURCE`).
        kind: ``queue`` or ``placement``.
        window: queue env, W waiting jobs offered.
        max_types: placement env, GPU types offered (instances with more are refused).
        reward: ``dense`` or ``sparse``.
        predictor, sigma: what the agent is told about sizes (as every policy).
        seeds: episode seeds to cycle through (default: drawn from ``np_random``).
        reward_scale: multiplies the dense reward.
        wait: queue env, whether the wait action exists (False: the agent only orders; the action
            index W stays in the action space but is always masked).
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        source: Any = None,
        *,
        kind: str = "queue",
        window: int = 128,
        max_types: int = 4,
        reward: str = "dense",
        predictor: str = "noisy",
        sigma: float = 0.5,
        seeds: list[int] | None = None,
        reward_scale: float = 0.01,
        wait: bool = True,
    ) -> None:
        if reward not in ("dense", "sparse"):
            raise ValueError(f"reward {reward!r}: expected 'dense' or 'sparse'")
        self.source = load_source(DEFAULT_SOURCE if source is None else source)
        self.kind = kind
        self.window, self.max_types = int(window), int(max_types)
        self.reward_mode = reward
        self.predictor, self.sigma = predictor, float(sigma)
        self.seeds = list(seeds) if seeds else None
        self.reward_scale = float(reward_scale)
        self.wait = bool(wait)
        probe = make_agent_policy(kind, window=self.window, max_types=self.max_types)
        self.n_actions = probe.n_actions
        self.obs_dim = probe.obs_dim
        self.observation_space = gym.spaces.Box(0.0, 1e4, shape=(self.obs_dim,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(self.n_actions)
        self._g: greenlet | None = None
        self._mask = np.zeros(self.n_actions, dtype=bool)
        self._episode = 0
        self.instance: Instance | None = None
        self.result: SimulationResult | None = None

    # ------------------------------------------------------------------ engine coupling
    def _decide(self, obs: np.ndarray, mask: np.ndarray) -> int:
        """Called by the policy inside the engine greenlet: hand the decision point to the env."""
        assert self._g is not None and self._g.parent is not None
        return self._g.parent.switch((obs, mask))

    def _switch(self, *args: Any) -> Any:
        assert self._g is not None  # made by reset()
        was = gc.isenabled()
        try:
            return self._g.switch(*args)
        finally:
            if was:  # the engine turns gc off while it runs; give the caller its own setting back
                gc.enable()

    def _episode_seed(self) -> int:
        if self.seeds:
            s = self.seeds[self._episode % len(self.seeds)]
        else:
            s = int(self.np_random.integers(0, 2**31 - 1))
        self._episode += 1
        return int(s)

    def _begin(self) -> Any:
        seed = self._episode_seed()
        src = self.source
        inst = src if isinstance(src, Instance) else make_instance(src, seed)
        self.instance, self.episode_seed = inst, seed
        self.policy = make_agent_policy(
            self.kind, self._decide, window=self.window, max_types=self.max_types, wait=self.wait
        )
        sim = Simulator(inst, self.policy, predictor=self.predictor, sigma=self.sigma, seed=seed)
        self._g = greenlet(sim.run)
        self._prev_area = 0.0
        return self._switch()

    def _close_episode(self) -> None:
        g, self._g = self._g, None
        if g is not None and not g.dead:
            was = gc.isenabled()
            g.throw()  # GreenletExit inside the engine: it unwinds (and restores gc) without a result
            if was:
                gc.enable()

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; returns the first decision point's observation and ``{"action_mask", "episode_seed"}``."""
        super().reset(seed=seed)
        if seed is not None:
            self._episode = 0
        self._close_episode()
        for _ in range(100):
            out = self._begin()
            if not isinstance(out, SimulationResult):
                obs, mask = out
                self._mask = mask
                return obs, {"action_mask": mask.copy(), "episode_seed": self.episode_seed}
        raise RuntimeError("100 episodes in a row ended without a decision point (every job started by default)")

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` and run the simulation to the next decision point or the end (then ``terminated``)."""
        if self._g is None or self._g.dead:
            raise RuntimeError("step() called before reset() or after the episode ended")
        out = self._switch(int(action))
        pol = self.policy
        if isinstance(out, SimulationResult):
            self._g = None
            self.result = out
            metrics = self._metrics(out)
            if self.reward_mode == "dense":
                # jobs still in the system after the last decision: until their finish (the last event)
                end_area = pol.area_at(pol.last_t)
                reward = -(end_area - self._prev_area) / pol.scale * self.reward_scale
            else:
                bsd = metrics.get("bounded_slowdown_mean")
                reward = -float(bsd) if bsd is not None else 0.0
            obs = np.zeros(self.obs_dim, dtype=np.float32)
            self._mask = np.zeros(self.n_actions, dtype=bool)
            info = {
                "action_mask": self._mask.copy(),
                "metrics": metrics,
                "simulation": out.status,
                "decisions": pol.decisions,
                "invalid_actions": pol.invalid_actions,
            }
            return obs, float(reward), True, False, info
        obs, mask = out
        self._mask = mask
        reward = 0.0
        if self.reward_mode == "dense":
            area = pol.area_at(pol.view.now)
            reward = -(area - self._prev_area) / pol.scale * self.reward_scale
            self._prev_area = area
        return obs, float(reward), False, False, {"action_mask": mask.copy()}

    def action_masks(self) -> np.ndarray:
        """The current action mask (sb3-contrib's MaskablePPO calls this)."""
        return self._mask.copy()

    def _metrics(self, res: SimulationResult) -> dict[str, Any]:
        from schedbench.validator import validate

        assert self.instance is not None
        v = validate(self.instance, res.solution())
        keys = ("jct_mean", "bounded_slowdown_mean", "queueing_delay_mean", "makespan", "utilisation", "finished")
        return {k: v.metrics.get(k) for k in keys} | {"feasible": v.feasible}

    def close(self) -> None:
        """End a running episode and close the environment."""
        self._close_episode()
        super().close()


class QueueEnv(SchedulingEnv):
    """``schedbench/Queue-v0``: pick one of W waiting jobs to start next, or wait."""

    def __init__(self, source: Any = None, **kwargs: Any) -> None:
        super().__init__(source, kind="queue", **kwargs)


class PlacementEnv(SchedulingEnv):
    """``schedbench/Placement-v0``: place each waiting job on a GPU type (fastest first), or hold it."""

    def __init__(self, source: Any = None, **kwargs: Any) -> None:
        kwargs.pop("window", None)
        kwargs.pop("wait", None)
        super().__init__(source, kind="placement", **kwargs)


ENVS = {"queue": QueueEnv, "placement": PlacementEnv}


def _register() -> None:
    from schedbench.rl import register

    register()


_register()
