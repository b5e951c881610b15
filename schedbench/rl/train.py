"""Agents for the RL environments: MaskablePPO (sb3-contrib), DQN with masked Q-values
(stable-baselines3) and REINFORCE with a learned baseline (plain torch), trained, saved and loaded.

Masking: the last ``n_actions`` entries of every observation are the action mask
(:mod:`schedbench.rl.agents`). MaskablePPO reads it from ``env.action_masks()``; the DQN's
Q-network sets the Q-value of every masked action to ``-1e9`` (so greedy actions, and the max in
the TD target, only ever range over allowed actions) and its epsilon-greedy exploration samples
uniformly among the allowed actions; REINFORCE masks its logits the same way.

Reproducibility: training calls ``torch.set_num_threads(1)`` and seeds Python, numpy and torch
(``stable_baselines3.common.utils.set_random_seed``) and the environment from ``seed``; on CPU two
trainings with the same arguments give identical parameters.

A model is one ``.zip``: stable-baselines3's own file (PPO, DQN) or a torch state dict (PG), plus
``schedbench.json`` with the algorithm, the environment kind and its keyword arguments, the
timesteps, the seed and the training time, so that :func:`load_agent` rebuilds the same decision
function for the solver plugin.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from schedbench.rl.envs import PlacementEnv, QueueEnv, SchedulingEnv

if TYPE_CHECKING:
    from stable_baselines3 import DQN
    from stable_baselines3.dqn.policies import DQNPolicy

ALGOS = ("ppo", "dqn", "pg")
META = "schedbench.json"


def make_env(kind: str, env_kwargs: dict[str, Any] | None = None) -> SchedulingEnv:
    """A fresh environment of ``kind`` (``queue`` / ``placement``) with keyword arguments."""
    kw = dict(env_kwargs or {})
    if kind == "queue":
        return QueueEnv(**kw)
    if kind == "placement":
        kw.pop("window", None)
        kw.pop("wait", None)
        return PlacementEnv(**kw)
    raise ValueError(f"env {kind!r}: expected 'queue' or 'placement'")


def _torch_setup(seed: int) -> None:
    import torch
    from stable_baselines3.common.utils import set_random_seed

    torch.set_num_threads(1)
    set_random_seed(seed)


# ---------------------------------------------------------------------------------------------- DQN
def _masked_dqn_classes() -> tuple[type[DQN], type[DQNPolicy]]:
    from stable_baselines3 import DQN
    from stable_baselines3.dqn.policies import DQNPolicy, QNetwork

    class MaskedQNetwork(QNetwork):
        """Q-network whose Q-values of masked actions (read from the observation's tail) are -1e9."""

        def forward(self, obs: Any) -> Any:
            q = super().forward(obs)
            n = q.shape[-1]
            return q.masked_fill(obs[..., -n:] < 0.5, -1e9)

    class MaskedDQNPolicy(DQNPolicy):
        def make_q_net(self) -> MaskedQNetwork:
            net_args = self._update_features_extractor(self.net_args, features_extractor=None)
            return MaskedQNetwork(**net_args).to(self.device)

    class MaskedDQN(DQN):
        """DQN whose exploration samples uniformly among the allowed actions."""

        def _sample_action(
            self, learning_starts: int, action_noise: Any = None, n_envs: int = 1
        ) -> tuple[np.ndarray, np.ndarray]:
            action, _ = self.predict(self._last_obs, deterministic=False)
            return action, action

        def predict(
            self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False
        ) -> tuple[np.ndarray, Any]:
            if not deterministic and np.random.rand() < self.exploration_rate:
                obs = np.asarray(observation)
                n = int(self.action_space.n)  # type: ignore[attr-defined]
                masks = obs[..., -n:] > 0.5
                if masks.ndim == 1:
                    return np.array(np.random.choice(np.flatnonzero(masks))), state
                return np.array([np.random.choice(np.flatnonzero(m)) for m in masks]), state
            return self.policy.predict(observation, state, episode_start, deterministic)

    return MaskedDQN, MaskedDQNPolicy


# ---------------------------------------------------------------------------------------------- PG
class ReinforcePG:
    """REINFORCE with a learned state-value baseline and masked logits (plain torch).

    Collects whole episodes until ``batch_steps`` steps, then one Adam step on
    ``-(log pi(a|s) * (G - V(s))) + 0.5 (V(s) - G)^2 - ent_coef * entropy`` (advantages normalised,
    returns discounted by ``gamma``)."""

    def __init__(
        self,
        env: SchedulingEnv,
        seed: int,
        *,
        hidden: int = 64,
        lr: float = 1e-3,
        gamma: float = 0.99,
        batch_steps: int = 512,
        ent_coef: float = 0.01,
    ) -> None:
        import torch
        from torch import nn

        self.env, self.seed = env, seed
        self.gamma, self.batch_steps, self.ent_coef = gamma, batch_steps, ent_coef
        d, n = env.obs_dim, env.n_actions
        self.arch = {"obs_dim": int(d), "n_actions": int(n), "hidden": hidden}
        self.pi = build_pg_net(**self.arch)
        self.v = nn.Sequential(
            nn.Linear(d, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1)
        )
        self.opt = torch.optim.Adam([*self.pi.parameters(), *self.v.parameters()], lr=lr)
        self.num_timesteps = 0

    def learn(self, total_timesteps: int, callback: Callable[[int], None] | None = None) -> ReinforcePG:
        """Train for ``total_timesteps`` environment steps; ``callback(steps done)`` after each batch."""
        import torch

        gen = torch.Generator().manual_seed(self.seed)
        obs, _ = self.env.reset(seed=self.seed)
        while self.num_timesteps < total_timesteps:
            Os, A, M, R, D = [], [], [], [], []
            steps = 0
            while steps < self.batch_steps and self.num_timesteps < total_timesteps:
                mask = self.env.action_masks()
                with torch.no_grad():
                    logits = self.pi(torch.as_tensor(obs)[None])[0].masked_fill(~torch.as_tensor(mask), -1e9)
                    a = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=gen))
                nobs, r, term, trunc, _ = self.env.step(a)
                Os.append(obs)
                A.append(a)
                M.append(mask)
                R.append(r)
                D.append(term or trunc)
                steps += 1
                self.num_timesteps += 1
                if callback is not None:
                    callback(self.num_timesteps)
                obs = nobs
                if term or trunc:
                    obs, _ = self.env.reset()
            G = np.zeros(len(R), dtype=np.float32)
            acc = 0.0
            for i in range(len(R) - 1, -1, -1):
                acc = R[i] + (0.0 if D[i] else self.gamma * acc)
                G[i] = acc
            o = torch.as_tensor(np.asarray(Os))
            g = torch.as_tensor(G)
            logits = self.pi(o).masked_fill(~torch.as_tensor(np.asarray(M)), -1e9)
            logp = torch.log_softmax(logits, -1)
            p = logp.exp()
            chosen = logp.gather(1, torch.as_tensor(A)[:, None])[:, 0]
            v = self.v(o)[:, 0]
            adv = g - v.detach()
            adv = (adv - adv.mean()) / (adv.std() + 1e-8) if len(adv) > 1 else adv
            entropy = -(p * logp.clamp(min=-1e8)).sum(-1).mean()
            loss = -(chosen * adv).mean() + 0.5 * ((v - g) ** 2).mean() - self.ent_coef * entropy
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        return self

    def save(self, path: Path) -> None:
        """Write the policy network and its architecture to ``path`` (a zip, read by :func:`load_decider`)."""
        import torch

        buf = io.BytesIO()
        torch.save(self.pi.state_dict(), buf)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("pg_arch.json", json.dumps(self.arch))
            z.writestr("pg_policy.pth", buf.getvalue())


def build_pg_net(obs_dim: int, n_actions: int, hidden: int) -> Any:
    """The REINFORCE policy network (logits)."""
    from torch import nn

    return nn.Sequential(
        nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, n_actions)
    )


# ---------------------------------------------------------------------------------------------- API
def _sb3_progress(update: Callable[[int], None]) -> Any:
    from stable_baselines3.common.callbacks import BaseCallback

    class _Progress(BaseCallback):
        def _on_step(self) -> bool:
            update(self.num_timesteps)
            return True

    return _Progress()


def _quiet_logger(model: Any) -> None:
    """Give an sb3 model a logger that writes nowhere: without one, ``learn()`` creates a dated
    ``SB3-…`` folder in the temporary directory on every call (sb3's default ``configure()``)."""
    from stable_baselines3.common.logger import Logger

    model.set_logger(Logger(folder=None, output_formats=[]))


def train(
    algo: str,
    kind: str,
    *,
    timesteps: int,
    seed: int,
    env_kwargs: dict[str, Any] | None = None,
    out: Path,
    progress: Callable[[int], None] | None = None,
    hyper: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``algo`` on a ``kind`` environment for ``timesteps`` steps, save the model to ``out``.

    Returns the metadata written into the model (``train_seconds`` included)."""
    if algo not in ALGOS:
        raise ValueError(f"algo {algo!r}: expected one of {list(ALGOS)}")
    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    kw = dict(env_kwargs or {})
    _torch_setup(seed)
    env = make_env(kind, kw)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    h = dict(hyper or {})
    t0 = time.process_time()
    w0 = time.perf_counter()
    update = progress or (lambda _n: None)
    if algo == "ppo":
        from sb3_contrib import MaskablePPO

        model: Any = MaskablePPO(
            "MlpPolicy",
            env,
            seed=seed,
            device="cpu",
            verbose=0,
            n_steps=h.get("n_steps", 512),
            batch_size=h.get("batch_size", 64),
            n_epochs=h.get("n_epochs", 4),
            learning_rate=h.get("lr", 3e-4),
            gamma=h.get("gamma", 0.99),
            ent_coef=h.get("ent_coef", 0.01),
            policy_kwargs={"net_arch": [64, 64]},
        )
        _quiet_logger(model)
        model.learn(timesteps, callback=_sb3_progress(update))
        model.save(out)
    elif algo == "dqn":
        MaskedDQN, MaskedDQNPolicy = _masked_dqn_classes()
        model = MaskedDQN(
            MaskedDQNPolicy,
            env,
            seed=seed,
            device="cpu",
            verbose=0,
            learning_starts=h.get("learning_starts", min(1000, max(1, timesteps // 10))),
            buffer_size=h.get("buffer_size", 50_000),
            batch_size=h.get("batch_size", 64),
            learning_rate=h.get("lr", 5e-4),
            gamma=h.get("gamma", 0.99),
            train_freq=h.get("train_freq", 4),
            target_update_interval=h.get("target_update", 1000),
            exploration_fraction=h.get("exploration_fraction", 0.3),
            exploration_final_eps=h.get("exploration_final_eps", 0.05),
            policy_kwargs={"net_arch": [64, 64]},
        )
        _quiet_logger(model)
        model.learn(timesteps, callback=_sb3_progress(update))
        model.save(out)
    else:
        model = ReinforcePG(
            env,
            seed,
            batch_steps=h.get("batch_steps", 512),
            lr=h.get("lr", 1e-3),
            gamma=h.get("gamma", 0.99),
            ent_coef=h.get("ent_coef", 0.01),
        )
        model.learn(timesteps, callback=update)
        model.save(out)
    env.close()
    import torch

    meta = {
        "format": 1,
        "algo": algo,
        "env": kind,
        "env_kwargs": _jsonable(kw),
        "timesteps": int(timesteps),
        "seed": int(seed),
        "train_cpu_seconds": round(time.process_time() - t0, 3),
        "train_wall_seconds": round(time.perf_counter() - w0, 3),
        "torch": torch.__version__,
        "hyper": h,
    }
    with zipfile.ZipFile(out, "a") as z:
        z.writestr(META, json.dumps(meta, indent=1, sort_keys=True))
    return meta


def _jsonable(kw: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in kw.items():
        if k == "source" and not isinstance(v, dict):
            raise ValueError("a model records its training source: give a generator spec, not an instance")
        out[k] = v
    return out


def read_meta(path: Path) -> dict[str, Any]:
    """The ``schedbench.json`` of a model file (``ValueError`` naming the file when absent or unreadable)."""
    try:
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read(META))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a schedbench RL model (.zip with {META}): {exc}") from None


def load_agent(path: Path) -> tuple[dict[str, Any], Callable[[np.ndarray, np.ndarray], int]]:
    """(metadata, ``decide(obs, mask) -> action``) of a model file; greedy (deterministic) actions."""
    import torch

    torch.set_num_threads(1)
    meta = read_meta(path)
    algo = meta.get("algo")
    if algo == "ppo":
        from sb3_contrib import MaskablePPO

        ppo = MaskablePPO.load(path, device="cpu")

        def decide(obs: np.ndarray, mask: np.ndarray) -> int:
            a, _ = ppo.predict(obs, action_masks=mask, deterministic=True)
            return int(a)
    elif algo == "dqn":
        MaskedDQN, MaskedDQNPolicy = _masked_dqn_classes()
        dqn = MaskedDQN.load(path, device="cpu", custom_objects={"policy_class": MaskedDQNPolicy})

        def decide(obs: np.ndarray, mask: np.ndarray) -> int:
            a, _ = dqn.predict(obs, deterministic=True)
            return int(a)
    elif algo == "pg":
        with zipfile.ZipFile(path) as z:
            arch = json.loads(z.read("pg_arch.json"))
            state = torch.load(io.BytesIO(z.read("pg_policy.pth")), weights_only=True)
        net = build_pg_net(**arch)
        net.load_state_dict(state)
        net.eval()

        def decide(obs: np.ndarray, mask: np.ndarray) -> int:
            with torch.no_grad():
                logits = net(torch.as_tensor(obs)[None])[0].masked_fill(~torch.as_tensor(mask), -1e9)
            return int(logits.argmax())
    else:
        raise ValueError(f"{path}: unknown algo {algo!r} in {META}")
    return meta, decide


def parameters(path: Path) -> dict[str, np.ndarray]:
    """All policy parameters of a model file as numpy arrays (reproducibility checks)."""
    import torch

    meta = read_meta(path)
    with zipfile.ZipFile(path) as z:
        name = "pg_policy.pth" if meta["algo"] == "pg" else "policy.pth"
        state = torch.load(io.BytesIO(z.read(name)), weights_only=True)
    return {k: v.numpy() for k, v in state.items()}
