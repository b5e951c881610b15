"""The online cluster simulator: an event-driven engine, non-clairvoyant views, predictors,
checkpoint/restore cost models and queueing policies (docs/simulator.md)."""

from schedbench.simulator.engine import (
    FINISHED,
    REJECTED,
    RUNNING,
    UNRELEASED,
    WAITING,
    PolicyError,
    SimulationError,
    SimulationResult,
    Simulator,
    View,
    simulate,
)
from schedbench.simulator.policy import Policy, QueuePolicy, erlang_c_wait
from schedbench.simulator.predictors import PREDICTORS

__all__ = [
    "FINISHED",
    "PREDICTORS",
    "REJECTED",
    "RUNNING",
    "UNRELEASED",
    "WAITING",
    "Policy",
    "PolicyError",
    "QueuePolicy",
    "SimulationError",
    "SimulationResult",
    "Simulator",
    "View",
    "erlang_c_wait",
    "simulate",
]
