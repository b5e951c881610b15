"""Reinforcement-learning policies (family ``rl``): a trained agent (docs/rl.md) run by the online
simulator like every policy, so ``solve``, ``run``, campaigns, reports and ``schedbench solvers
test`` apply unchanged and the validator grades the event log.

``rl-ppo``, ``rl-dqn`` and ``rl-pg`` are queue-ordering agents (MaskablePPO, masked DQN, REINFORCE
with a baseline; ``queue`` environment: start one of the first W waiting jobs, or wait);
``rl-ppo-placement`` a placement agent (``placement`` environment: each waiting job to one of its
GPU types, or held). The parameter ``model`` names the model file (a ``.zip`` written by
``schedbench rl train``); empty means the small model shipped in ``schedbench/data/rl/``. Actions
are greedy; with the run's seed seeding the noisy predictor the answer is deterministic. Needs the
``[rl]`` extra: without it these solvers are listed as unavailable with the missing module named,
and nothing here imports torch or gymnasium until a run starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from schedbench.instances.model import Instance
from schedbench.plugins.solver import Param
from schedbench.simulator.policy import Policy
from schedbench.simulator.solver import COMMON_PARAMS, PolicySolver

SHIPPED = Path(__file__).resolve().parent.parent / "schedbench" / "data" / "rl"
_PARAMS = (
    *(p for p in COMMON_PARAMS if p.name in ("predictor", "sigma", "history_prior_s")),
    Param("model", str, "", "trained model .zip (schedbench rl train); empty: the shipped model"),
)


def shipped_model(name: str) -> Path:
    """Path of a shipped model file (``schedbench/data/rl/<name>.zip``)."""
    from importlib import resources

    try:
        p = Path(str(resources.files("schedbench") / "data" / "rl" / f"{name}.zip"))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - resources without a file system
        p = SHIPPED / f"{name}.zip"
    return p


class _RlSolver(PolicySolver):
    family = "rl"
    version = "1"
    params = _PARAMS
    requires = ("gymnasium", "stable_baselines3", "sb3_contrib", "torch", "greenlet")
    preload = False  # torch is too large to keep in every worker: an RL run imports it itself
    deterministic = True
    shipped: ClassVar[str] = ""

    @classmethod
    def make_policy(cls, params: dict[str, Any]) -> Policy:
        from schedbench.rl.agents import make_agent_policy
        from schedbench.rl.train import load_agent

        path = Path(params["model"]) if params.get("model") else shipped_model(cls.shipped)
        if not path.is_file():
            raise ValueError(f"model {str(path)!r}: no such file")
        meta, decide = load_agent(path)
        kw = meta.get("env_kwargs", {})
        return make_agent_policy(
            meta["env"],
            decide,
            window=int(kw.get("window", 128)),
            max_types=int(kw.get("max_types", 4)),
            wait=bool(kw.get("wait", True)),
        )


class RlPpo(_RlSolver):
    """Queue-ordering agent trained with MaskablePPO (``rl-ppo``)."""

    name = "rl-ppo"
    shipped = "ppo-queue"
    description = "queue-ordering agent trained with MaskablePPO (start one of W waiting jobs, or wait)"


class RlDqn(_RlSolver):
    """Queue-ordering agent trained with DQN (``rl-dqn``)."""

    name = "rl-dqn"
    shipped = "dqn-queue"
    description = "queue-ordering agent trained with DQN, invalid actions masked out of the Q-values"


class RlPg(_RlSolver):
    """Queue-ordering agent trained with REINFORCE (``rl-pg``)."""

    name = "rl-pg"
    shipped = "pg-queue"
    description = "queue-ordering agent trained with REINFORCE and a learned baseline"


class RlPpoPlacement(_RlSolver):
    """Placement agent trained with MaskablePPO (``rl-ppo-placement``)."""

    name = "rl-ppo-placement"
    shipped = "ppo-placement"
    description = "placement agent trained with MaskablePPO (each waiting job to a GPU type, or held)"

    @classmethod
    def unsupported_reason(cls, instance: Instance) -> str | None:
        """Declines what the formulation does not model (see the class docstring)."""
        reason = super().unsupported_reason(instance)
        if reason is None and len(instance.gpu_types) > 4:
            return f"rl-ppo-placement handles at most 4 GPU types; the instance has {len(instance.gpu_types)}"
        return reason
