"""Reinforcement-learning schedulers on the online simulator (docs/rl.md); needs the ``[rl]`` extra.

Importing :mod:`schedbench.rl.envs` (which the agents and plugins do) registers two gymnasium
environments, ``schedbench/Queue-v0`` (pick one of W waiting jobs to start, or wait) and
``schedbench/Placement-v0`` (place each waiting job on a GPU type, or hold it); both step the
simulator's own event engine. Agents (MaskablePPO, masked DQN, REINFORCE with a baseline) live in
:mod:`schedbench.rl.train`, the ``schedbench rl`` commands in :mod:`schedbench.cli.rl`, and
solvers/rl.py makes a trained model an online policy plugin (family ``rl``).

This package itself imports nothing heavy, so the main CLI can mount ``schedbench rl`` at no cost
(gymnasium alone takes about a second to import); without the extra :func:`missing` names what is
missing.
"""

from __future__ import annotations

import importlib.util

ENV_IDS = {"queue": "schedbench/Queue-v0", "placement": "schedbench/Placement-v0"}
REQUIRED = ("gymnasium", "stable_baselines3", "sb3_contrib", "torch", "greenlet")


def missing() -> list[str]:
    """The modules of the ``[rl]`` extra that are not installed (checked without importing them)."""
    return [m for m in REQUIRED if importlib.util.find_spec(m) is None]


def register() -> None:
    """Register the two environments with gymnasium (idempotent)."""
    import gymnasium as gym

    for kind, env_id in ENV_IDS.items():
        if env_id not in gym.registry:
            cls = "QueueEnv" if kind == "queue" else "PlacementEnv"
            gym.register(id=env_id, entry_point=f"schedbench.rl.envs:{cls}")


__all__ = ["ENV_IDS", "REQUIRED", "missing", "register"]
