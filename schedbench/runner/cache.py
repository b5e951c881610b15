"""The one cache of solver registries, solver classes and instances, used by the calling process
(:mod:`.execute`: registry checks and grading) and by the worker's zygote (:mod:`.worker`: the
loads it does once before forking each run). Each process has its own :class:`LoadCache`; the code
and its rules (what is cached, the content-hash check, the bound on instances kept) are the same.
"""

from __future__ import annotations

import threading
from typing import Any

from schedbench.instances.model import Instance


class LoadCache:
    """Registries (per factory and plugin folders), solver classes and instances (per path and
    content hash, the ``max_instances`` most recently loaded kept). Thread-safe.

    Args:
        max_instances: instances kept (the oldest is dropped first).
    """

    def __init__(self, max_instances: int = 8) -> None:
        self.max_instances = max_instances
        self._registries: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._classes: dict[tuple[str, tuple[str, ...], str], type] = {}
        self._instances: dict[tuple[str, str], Instance] = {}
        self._lock = threading.RLock()

    def registry(self, spec: str, dirs: tuple[str, ...]) -> Any:
        """The registry built by factory ``spec`` (``module:function``) with plugin folders ``dirs``."""
        from schedbench.runner.worker import resolve_factory

        key = (spec, tuple(dirs))
        with self._lock:
            reg = self._registries.get(key)
            if reg is None:
                reg = resolve_factory(spec)(extra_dirs=list(dirs))
                self._registries[key] = reg
            return reg

    def entry(self, spec: str, dirs: tuple[str, ...], name: str) -> Any:
        """The registry entry of solver ``name``.

        Raises:
            KeyError: no such solver.
        """
        return self.registry(spec, dirs).get(name)

    def solver_class(self, spec: str, dirs: tuple[str, ...], name: str) -> type:
        """The loaded class of solver ``name`` (imports its module once).

        Raises:
            KeyError: no such solver. Exception: whatever loading the plugin raises.
        """
        key = (spec, tuple(dirs), name)
        with self._lock:
            cls = self._classes.get(key)
            if cls is None:
                cls = self.entry(spec, dirs, name).load()
                self._classes[key] = cls
            return cls

    def instance(self, path: str, digest: str) -> Instance:
        """The instance file ``path``, checked against the content hash ``digest`` (when given).

        Raises:
            ValueError: the file's content hash is not ``digest``. InputError: an unreadable file.
        """
        key = (path, digest)
        with self._lock:
            inst = self._instances.get(key)
            if inst is not None:
                return inst
            from schedbench.instances.io import content_hash, load

            inst = load(path)
            if digest and content_hash(inst) != digest:
                raise ValueError(
                    f"instance file {path} does not match the task: content hash {content_hash(inst)} is not {digest}"
                )
            while self._instances and len(self._instances) >= self.max_instances:
                self._instances.pop(next(iter(self._instances)))
            self._instances[key] = inst
            return inst

    def clear(self) -> None:
        """Forget everything cached (e.g. after plugin files changed)."""
        with self._lock:
            self._registries.clear()
            self._classes.clear()
            self._instances.clear()
