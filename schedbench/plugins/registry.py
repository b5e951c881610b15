"""The solver registry: every solver plugin by name, typed, refusing name collisions.

Sources, in this order:

1. the built-in plugins, the package ``schedbench_solvers`` (the folder ``solvers/`` at the
   repository root): every module whose name does not start with ``_``;
2. entry points in the group ``schedbench.solvers`` of installed distributions, each naming a
   :class:`~schedbench.plugins.solver.Solver` subclass (``pkg.mod:MySolver``) or a module (all the
   concrete subclasses it defines)::

       [project.entry-points."schedbench.solvers"]
       my-solvers = "my_package.solvers"

3. extra folders (``--solvers-dir PATH``, or a single file): every ``*.py`` file not starting with
   ``_`` is imported by file path under a unique module name and each concrete ``Solver``
   subclass it defines is registered; every ``*.toml`` file is a command-solver configuration
   (:mod:`schedbench.plugins.command`). Importing runs a file's top-level code, so keep scripts
   that are not plugins (the programs command solvers run, say) in a sub-folder. The folder is
   not put on ``sys.path``: a plugin file needing helpers imports them from an installed package
   or adds its folder itself.

A module whose import fails (a missing optional dependency, a syntax error) breaks nothing: an
*unavailable* entry named after the file carries the exception as its reason. A solver class
whose ``requires`` names a module that is not installed (checked with
:func:`importlib.util.find_spec` on its top-level package, without importing it) is listed as
unavailable too. Two sources registering the same name, an invalid name (``^[a-z0-9][a-z0-9-]*$``)
or a malformed declaration raise :class:`RegistryError` naming the origins. One implementation may
be registered under several names (:meth:`~schedbench.plugins.solver.Solver.variant`: the same
class with other parameter defaults); the same class reached twice under one name (a module and
an entry point) is not a collision.

The registry also answers what the harness derives from the plugins: the modules a worker
preloads (:func:`preload_modules`) and the distributions whose versions a campaign records
(:func:`required_distributions`), both from the solvers' ``requires``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import pkgutil
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from schedbench.plugins.command import CommandConfig, load_config
from schedbench.plugins.declarations import NAME_RE, RegistryError, check_declarations, missing_modules, top_level
from schedbench.plugins.solver import Param, Solver

__all__ = [
    "BUILTIN_PACKAGE",
    "CORE_PRELOAD",
    "ENTRY_POINT_GROUP",
    "NAME_RE",
    "Registry",
    "RegistryError",
    "SolverEntry",
    "check_declarations",
    "clear_cache",
    "get_registry",
    "preload_modules",
    "required_distributions",
]

#: The package of the built-in plugins.
BUILTIN_PACKAGE = "schedbench_solvers"
#: Entry-point group of third-party plugins.
ENTRY_POINT_GROUP = "schedbench.solvers"
#: Modules every worker preloads whatever the solvers: the core's own numerical stack (and
#: threadpoolctl, with which the worker caps BLAS threads when it is installed).
CORE_PRELOAD = ("numpy", "scipy", "scipy.optimize", "scipy.sparse", "threadpoolctl")


@dataclass(frozen=True)
class SolverEntry:
    """One registered solver, described without running it.

    Attributes:
        name, family, version, params, deterministic, description: the class's declarations.
        problems: class -> objectives it solves.
        origin: where it was registered from (module and file, entry point, TOML file).
        available: whether it can run here; ``reason`` says why not (missing module, failed import).
        requires: the modules it needs (``Solver.requires``); ``preload``: whether a worker imports
            them before forking runs.
        model_formats: the model-file formats its ``export_model`` writes (empty: it exports none).
    """

    name: str
    family: str
    version: str
    problems: dict[str, tuple[str, ...]]
    params: tuple[Param, ...]
    deterministic: bool
    description: str
    origin: str
    available: bool = True
    reason: str | None = None
    requires: tuple[str, ...] = ()
    preload: bool = True
    model_formats: tuple[str, ...] = ()
    _loader: Callable[[], type[Solver]] | None = field(default=None, repr=False, compare=False)

    def load(self) -> type[Solver]:
        """The solver class.

        Raises:
            RegistryError: the solver is unavailable (the message gives the reason).
        """
        if not self.available or self._loader is None:
            raise RegistryError(
                f"solver {self.name!r} is unavailable: {self.reason or 'no loader'} (registered by {self.origin})"
            )
        return self._loader()

    def problems_text(self) -> str:
        """``class: obj, obj; class: ...`` for listings."""
        return "; ".join(f"{c}: {', '.join(objs)}" for c, objs in self.problems.items())


class Registry:
    """Solvers by name. Build one with :func:`get_registry` (cached) or :meth:`build`."""

    def __init__(self) -> None:
        self._entries: dict[str, SolverEntry] = {}
        self._classes: dict[str, type | None] = {}

    # ------------------------------------------------------------------ queries
    def get(self, name: str) -> SolverEntry:
        """The entry called ``name``.

        Raises:
            KeyError: unknown name (the message lists the known ones).
        """
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown solver {name!r}; known solvers: {', '.join(self.names()) or 'none'}") from None

    def entries(self) -> list[SolverEntry]:
        """All entries, sorted by name."""
        return [self._entries[k] for k in sorted(self._entries)]

    def names(self) -> list[str]:
        """All names, sorted."""
        return sorted(self._entries)

    def exporters(self, fmt: str | None = None) -> list[SolverEntry]:
        """The entries that can export a model (in ``fmt``, when given), sorted by name."""
        return [e for e in self.entries() if e.model_formats and (fmt is None or fmt in e.model_formats)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[SolverEntry]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------ registration
    def add(self, entry: SolverEntry, cls: type | None = None) -> None:
        """Register an entry (``cls``: its class, when known, so that the same class reached twice,
        e.g. by a module and an entry point, is not a collision).

        Raises:
            RegistryError: the name is invalid or already taken by another solver.
        """
        if not NAME_RE.match(entry.name):
            raise RegistryError(f"{entry.origin}: invalid solver name {entry.name!r} (names match {NAME_RE.pattern})")
        old = self._entries.get(entry.name)
        if old is not None:
            if cls is not None and self._classes.get(entry.name) is cls:
                return
            raise RegistryError(
                f"solver name {entry.name!r} is registered twice: by {old.origin} and by "
                f"{entry.origin}; rename one of them"
            )
        self._entries[entry.name] = entry
        self._classes[entry.name] = cls

    def add_class(self, cls: type[Solver], origin: str) -> None:
        """Check a solver class's declarations and register it."""
        self.add(entry_for_class(cls, origin), cls)

    def add_module(self, module: ModuleType, origin: str) -> int:
        """Register every concrete Solver subclass defined in ``module``; return how many."""
        count = 0
        for _, obj in sorted(vars(module).items()):
            if not (
                inspect.isclass(obj)
                and issubclass(obj, Solver)
                and obj is not Solver
                and obj.__module__ == module.__name__
                and not inspect.isabstract(obj)
            ):
                continue
            if not obj.name and obj.__name__.startswith("_"):
                continue  # a private concrete base class
            self.add_class(obj, f"{origin}: {obj.__qualname__}")
            count += 1
        return count

    def add_failed(self, stem: str, origin: str, exc: BaseException) -> None:
        """Register the unavailable entry of a module that failed to import."""
        self.add(failed_entry(stem, origin, exc))

    @classmethod
    def build(
        cls, extra_dirs: Sequence[str | Path] = (), *, builtins: bool = True, entry_points: bool = True
    ) -> Registry:
        """A fresh registry from the built-ins, the entry points and ``extra_dirs`` (folders, or single
        ``.py``/``.toml`` files).

        Raises:
            RegistryError: collisions, invalid declarations, bad TOML, a missing folder.
        """
        reg = cls()
        if builtins:
            reg._scan_builtins()
        if entry_points:
            reg._scan_entry_points()
        for d in extra_dirs:
            reg._scan_path(Path(d))
        return reg

    def _scan_builtins(self) -> None:
        try:
            pkg = importlib.import_module(BUILTIN_PACKAGE)
        except ImportError as exc:  # a broken install: say so, keep the other sources
            self.add_failed("builtin-solvers", f"package {BUILTIN_PACKAGE}", exc)
            return
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            modname = f"{BUILTIN_PACKAGE}.{info.name}"
            path = Path(getattr(info.module_finder, "path", "")) / f"{info.name}.py"
            origin = f"built-in {modname} ({path})"
            try:
                module = importlib.import_module(modname)
            except Exception as exc:
                self.add_failed(info.name, origin, exc)
                continue
            self.add_module(module, origin)

    def _scan_entry_points(self) -> None:
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
            dist = getattr(ep, "dist", None)
            where = f" (distribution {dist.name} {dist.version})" if dist is not None else ""
            origin = f"entry point {ep.name!r} = {ep.value!r}{where}"
            try:
                obj = ep.load()
            except Exception as exc:
                self.add_failed(ep.name, origin, exc)
                continue
            if inspect.ismodule(obj):
                if not self.add_module(obj, origin):
                    raise RegistryError(f"{origin}: module {obj.__name__} defines no concrete Solver subclass")
            elif inspect.isclass(obj) and issubclass(obj, Solver) and not inspect.isabstract(obj):
                self.add_class(obj, origin)
            else:
                raise RegistryError(
                    f"{origin}: expected a concrete schedbench.Solver subclass or a module, found {obj!r}"
                )

    def _scan_path(self, path: Path) -> None:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".py", ".toml") and not p.name.startswith("_"))
        elif path.is_file() and path.suffix in (".py", ".toml"):
            files = [path]
        else:
            raise RegistryError(f"solvers dir {str(path)!r}: not a folder nor a .py/.toml file")
        for f in files:
            if f.suffix == ".toml":
                config = load_config(f)
                self.add(command_entry(config), config.solver_class())
                continue
            origin = str(f.resolve())
            try:
                module = import_file(f)
            except Exception as exc:
                self.add_failed(f.stem, origin, exc)
                continue
            self.add_module(module, origin)


# ---------------------------------------------------------------------- helpers
def _stem_name(stem: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", stem.lower()).strip("-")
    return name if NAME_RE.match(name) else "unnamed-module"


def failed_entry(stem: str, origin: str, exc: BaseException) -> SolverEntry:
    """The unavailable entry of a plugin module whose import failed."""
    text = f"{type(exc).__name__}: {exc}".strip()
    return SolverEntry(
        name=_stem_name(stem),
        family="",
        version="",
        problems={},
        params=(),
        deterministic=False,
        description="(plugin module failed to import)",
        origin=origin,
        available=False,
        reason=f"import failed: {text}",
    )


def entry_for_class(cls: type[Solver], origin: str) -> SolverEntry:
    """The entry of a solver class (unavailable when a module in ``requires`` is missing)."""
    decl = check_declarations(cls, origin)
    missing = missing_modules(decl["requires"])
    reason = None if not missing else f"missing module{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
    return SolverEntry(**decl, origin=origin, available=not missing, reason=reason, _loader=lambda: cls)


def command_entry(config: CommandConfig) -> SolverEntry:
    """The entry of a command solver (unavailable when its program is not found)."""
    problem = config.program_problem()
    cls = config.solver_class()
    return SolverEntry(
        name=config.name,
        family=config.family,
        version=config.version,
        problems=dict(config.problems),
        params=config.params,
        deterministic=config.deterministic,
        description=config.description,
        origin=config.origin,
        available=problem is None,
        reason=problem,
        _loader=lambda: cls,
    )


def import_file(path: str | Path) -> ModuleType:
    """Import a Python file by path under a unique module name (the same path and contents give
    the same name, so a worker process re-importing it gets the same module name)."""
    p = Path(path).resolve()
    stat = p.stat()
    digest = hashlib.sha256(f"{p}\0{stat.st_mtime_ns}\0{stat.st_size}".encode()).hexdigest()[:12]
    modname = f"schedbench_plugin_{digest}_{re.sub(r'[^0-9a-zA-Z_]', '_', p.stem)}"
    if modname in sys.modules:
        return sys.modules[modname]
    spec = importlib.util.spec_from_file_location(modname, p)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {p}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(modname, None)
        if isinstance(exc, SystemExit):
            raise ImportError(f"the module called sys.exit({exc.code!r}) while being imported") from exc
        raise
    return module


@functools.lru_cache(maxsize=32)
def _cached(dirs: tuple[str, ...]) -> Registry:
    return Registry.build(dirs)


def get_registry(extra_dirs: Sequence[str | Path] = ()) -> Registry:
    """The registry of the built-ins, the entry points and ``extra_dirs``, cached per tuple of
    (resolved) folders. Call :func:`clear_cache` after installing plugins in a running process.

    Raises:
        RegistryError: collisions, invalid declarations, bad command-solver TOML, a missing folder.
    """
    if isinstance(extra_dirs, (str, Path)):
        extra_dirs = (extra_dirs,)
    return _cached(tuple(str(Path(d).resolve()) for d in extra_dirs))


def clear_cache() -> None:
    """Forget cached registries (the next :func:`get_registry` scans again)."""
    _cached.cache_clear()


# ---------------------------------------------------------------------- what the harness derives
def preload_modules(entries: Iterable[SolverEntry] | None = None) -> tuple[str, ...]:
    """The modules a worker imports once before forking runs: :data:`CORE_PRELOAD` and the
    ``requires`` of the available solvers that do not opt out (``preload = False``), in order,
    without duplicates. ``entries``: default, those of :func:`get_registry` (the built-ins and the
    entry points)."""
    chosen = get_registry().entries() if entries is None else entries
    mods = [*CORE_PRELOAD, *(m for e in chosen if e.available and e.preload for m in e.requires)]
    return tuple(dict.fromkeys(mods))


#: Distributions of the core whose versions every campaign records, beside the solvers'.
CORE_DISTRIBUTIONS = ("schedbench", "numpy", "scipy", "threadpoolctl")


def required_distributions(entries: Iterable[SolverEntry] | None = None) -> tuple[str, ...]:
    """The distributions whose versions a campaign records: :data:`CORE_DISTRIBUTIONS` and those
    providing the top-level packages of every solver's ``requires`` (installed or not: a missing
    one is recorded as such), in order, without duplicates. A module no installed distribution
    provides is named as it is imported (``sb3_contrib``). ``entries``: default, those of
    :func:`get_registry`."""
    chosen = get_registry().entries() if entries is None else entries
    providers = importlib.metadata.packages_distributions()
    out: list[str] = list(CORE_DISTRIBUTIONS)
    for e in chosen:
        for mod in e.requires:
            top = top_level(mod)
            out.extend(providers.get(top, [top])[:1])
    return tuple(dict.fromkeys(out))
