"""``schedbench profile``: measure DL training jobs into catalogue entries with provenance.

The profiler runs training steps (forward, backward, optimizer step) of a PyTorch model on
synthetic data and measures throughput (samples/s), the step-time distribution, peak memory,
FLOPs per step and the parameter count; the result is a catalogue fragment in the catalogue's
own format (``schedbench/catalogue/1``) that ``schedbench catalogue merge`` adds to the user's
catalogue, where the instance generators use it like any measured cell. See docs/profile.md.

Modules (none imports torch at import time except :mod:`.models`, :mod:`.measure` and
:mod:`.worker`, which are imported only once :func:`require_torch` has succeeded):

- :mod:`.workloads`: what can be profiled: the four models of the source article (``cnn``,
  ``rnn``, ``lstm``, ``gan``) and user models given as ``pkg.module:factory`` with an input spec.
- :mod:`.models`: the article's Keras models written in PyTorch (same layers and sizes).
- :mod:`.measure`: one measurement of one workload at one batch size on one device.
- :mod:`.hardware`: provenance of the machine (CPU model, GPU, driver, CUDA, torch).
- :mod:`.entry`: measurements -> catalogue fragment (job types, the CPU or GPU type, the source).

The catalogue layers the entries are merged into (shipped data, the project's own measurements,
the user's catalogue) live in :mod:`schedbench.catalogue.layers`; the ``schedbench profile`` and
``schedbench catalogue merge`` command bodies in :mod:`schedbench.cli.profile`.
"""

from __future__ import annotations

from types import ModuleType

#: The optional-dependency extra that provides torch.
EXTRA = "profile"
MISSING_TORCH = (
    f"schedbench profile needs PyTorch, which is not installed: install the extra with "
    f"pip install 'schedbench[{EXTRA}]'"
)


class ProfileError(Exception):
    """A profiling run that cannot be done as asked (bad model spec, missing torch, a model that
    fails to run): the CLI prints it as one ``error:`` line and exits with status 2."""


class OutOfMemoryError(ProfileError):
    """A batch size that does not fit the device: a sweep skips it and goes on with the others."""


def require_torch() -> ModuleType:
    """Import torch, or raise :class:`ProfileError` naming the ``profile`` extra."""
    try:
        import torch
    except ImportError:
        raise ProfileError(MISSING_TORCH) from None
    return torch


__all__ = ["EXTRA", "MISSING_TORCH", "OutOfMemoryError", "ProfileError", "require_torch"]
