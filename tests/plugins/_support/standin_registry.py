"""A stand-in for ``schedbench.plugins.registry.get_registry``, used by tests/test_runner.py only while the
real registry module does not exist yet.

It implements just the calls the runner makes: ``get_registry(extra_dirs=[...])`` loads every
``*.py`` of those folders and registers each ``Solver`` subclass with a name; ``reg.get(name)``
(KeyError when unknown) gives an entry with ``name``, ``version``, ``available``, ``reason`` and
``load()``. Injected through ``SCHEDBENCH_RUNNER_REGISTRY=/path/to/this/file.py:get_registry`` or
``LocalPool(registry=...)``.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

from schedbench.plugins.solver import Solver


@dataclass
class Entry:
    name: str
    version: str
    available: bool
    reason: str | None
    cls: type[Solver]

    def load(self) -> type[Solver]:
        return self.cls


class Registry:
    def __init__(self, entries: dict[str, Entry]) -> None:
        self.entries = entries

    def get(self, name: str) -> Entry:
        return self.entries[name]


def get_registry(extra_dirs=()) -> Registry:
    entries: dict[str, Entry] = {}
    for folder in extra_dirs:
        for path in sorted(Path(folder).glob("*.py")):
            mod_name = f"_standin_plugin_{abs(hash(str(path.resolve())))}"
            module = sys.modules.get(mod_name)
            if module is None:
                spec = importlib.util.spec_from_file_location(mod_name, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[mod_name] = module
                spec.loader.exec_module(module)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, Solver) and obj is not Solver and obj.name and obj.__module__ == mod_name:
                    missing = [m for m in obj.requires if importlib.util.find_spec(m) is None]
                    entries[obj.name] = Entry(
                        obj.name,
                        obj.version,
                        not missing,
                        f"missing modules: {', '.join(missing)}" if missing else None,
                        obj,
                    )
    return Registry(entries)
