"""Named instance suites: TOML manifests, deterministic builds, lock files.

Manifests ship with the package (``instances/`` in the source tree); a local folder adds or
overrides suites, and builds go to the user's cache directory: see :mod:`schedbench.suites.paths`.

A manifest ``<suite>.toml``::

    description = "..."

    [[generate]]                 # generated instances: one per seed
    id = "placement-gap"         # instance names are "<id>-s<seed>"
    class = "placement"
    seeds = [0, 1, 2]
    params = { jobs = 20, cluster = "tiny", objective = "min-cost" }
    # preset = "mmc"             # optional: a generator preset; params then holds its parameters

    [[import]]                   # published files through an importer
    format = "orlib-gap"
    paths = ["../../shared/external/gap_orlib/gap1.txt"]   # relative to the manifest
    options = { sense = "min" }

``<suite>.lock`` beside it maps every instance name to its content hash. ``build`` materialises
the suite into a directory (one canonical ``<name>.json`` each) and checks every hash against the
lock; ``verify`` does the same without keeping files; ``lock`` (re)writes the lock. Imported entries
whose files are absent (``../shared`` is not on every machine) are skipped and reported, never
silently: they are listed as *missing* and are not a failure unless ``--strict``.
"""

from __future__ import annotations

import glob
import json
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schedbench import jsonio
from schedbench.errors import InputError
from schedbench.instances import content_hash, save
from schedbench.instances.model import Instance
from schedbench.suites.paths import (
    bundled_campaigns_dir,
    bundled_dir,
    cache_dir,
    check_name,
    find_campaign,
    is_plain_name,
    list_campaigns,
    search_path,
    suite_cache,
)

__all__ = [
    "BuildReport",
    "Entry",
    "LockMismatchError",
    "Suite",
    "build",
    "bundled_campaigns_dir",
    "bundled_dir",
    "cache_dir",
    "check_name",
    "expected_count",
    "find_campaign",
    "is_plain_name",
    "list_campaigns",
    "list_suites",
    "load_suite",
    "read_lock",
    "search_path",
    "suite_cache",
    "write_lock",
]


@dataclass(frozen=True)
class Entry:
    """One instance a suite holds, not yet built."""

    name: str
    kind: str  # "generate" or "import"
    describe: str


@dataclass
class Suite:
    """A parsed manifest."""

    name: str
    path: Path
    description: str
    generate: list[dict[str, Any]]
    imports: list[dict[str, Any]]

    @property
    def lock_path(self) -> Path:
        """The lock file beside the manifest."""
        return self.path.with_suffix(".lock")

    @property
    def bundled(self) -> bool:
        """Whether the manifest is the one shipped with the package (not a local one)."""
        return self.path.parent.resolve() == bundled_dir().resolve()


class LockMismatchError(Exception):
    """Built instances whose hashes differ from the lock file (a changed generator or importer)."""

    def __init__(self, suite: str, mismatches: list[tuple[str, str | None, str | None]]) -> None:
        self.mismatches = mismatches
        lines = [f"{name}: lock {want or 'absent'}, built {got or 'absent'}" for name, want, got in mismatches]
        super().__init__(
            f"suite {suite!r}: {len(mismatches)} instance(s) differ from {suite}.lock:\n  " + "\n  ".join(lines)
        )


def list_suites(directory: str | Path | None = None) -> list[Suite]:
    """Every suite by name: the bundled ones, with those of the local folder (``directory``, see
    :func:`~schedbench.suites.paths.local_dir`) added or in place of a bundled one of the same name."""
    found: dict[str, Path] = {}
    for folder in reversed(search_path(directory)):
        for p in folder.glob("*.toml"):
            if is_plain_name(p.stem):  # a file load_suite could not name is no suite
                found[p.stem] = p
    return [_parse(name, found[name]) for name in sorted(found)]


def _require(cond: bool, file: str, path: str, expected: str, found: Any) -> None:
    if not cond:
        raise InputError(file, path, expected, repr(found))


def load_suite(name: str, directory: str | Path | None = None) -> Suite:
    """Read and check the manifest ``<name>.toml``: the local folder's (``directory``, see
    :func:`~schedbench.suites.paths.local_dir`) when it has one, else the bundled one.

    Raises:
        UsageError: ``name`` is not a plain name (``../x``, an absolute path...).
        InputError: no such suite, bad TOML, or a malformed entry (names the field).
    """
    check_name(name)
    folders = search_path(directory)
    for folder in folders:
        path = folder / f"{name}.toml"
        if path.is_file():
            return _parse(name, path)
    known = sorted({p.stem for folder in folders for p in folder.glob("*.toml")})
    raise InputError(str(folders[0] / f"{name}.toml"), "$", f"a suite manifest (known suites: {known})", "no such file")


def _parse(name: str, path: Path) -> Suite:
    """Read and check one manifest file."""
    file = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, "$", "valid TOML", str(exc)) from None
    allowed = {"description", "generate", "import"}
    for key in doc:
        _require(key in allowed, file, key, f"one of {sorted(allowed)}", key)
    gens = doc.get("generate", [])
    imps = doc.get("import", [])
    _require(
        isinstance(gens, list) and isinstance(imps, list),
        file,
        "generate/import",
        "arrays of tables",
        type(gens).__name__,
    )
    ids: set[str] = set()
    for i, g in enumerate(gens):
        where = f"generate[{i}]"
        _require(isinstance(g, dict), file, where, "a table", g)
        _require(
            set(g) <= {"id", "class", "seeds", "params", "preset"} and {"id", "class", "seeds"} <= set(g),
            file,
            where,
            "the keys id, class, seeds and optionally params and preset",
            sorted(g),
        )
        _require(isinstance(g.get("preset", ""), str), file, f"{where}.preset", "a preset name", g.get("preset"))
        _require(
            isinstance(g["id"], str) and g["id"] != "" and g["id"] not in ids,
            file,
            f"{where}.id",
            "a non-empty id unique in the suite",
            g["id"],
        )
        ids.add(g["id"])
        _require(
            isinstance(g["seeds"], list)
            and len(g["seeds"]) > 0
            and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in g["seeds"]),
            file,
            f"{where}.seeds",
            "a non-empty list of non-negative integers",
            g["seeds"],
        )
        _require(isinstance(g.get("params", {}), dict), file, f"{where}.params", "a table", g.get("params"))
    for i, m in enumerate(imps):
        where = f"import[{i}]"
        _require(isinstance(m, dict), file, where, "a table", m)
        _require(
            set(m) <= {"format", "paths", "options"} and {"format", "paths"} <= set(m),
            file,
            where,
            "the keys format, paths and optionally options",
            sorted(m),
        )
        _require(
            isinstance(m["paths"], list) and all(isinstance(p, str) for p in m["paths"]),
            file,
            f"{where}.paths",
            "a list of paths relative to the manifest",
            m["paths"],
        )
    return Suite(name, path, str(doc.get("description", "")), gens, imps)


def _iter_instances(suite: Suite, *, missing: list[str]) -> Iterator[Instance]:
    from schedbench.generators import generate
    from schedbench.generators.presets import resolve
    from schedbench.importers import IMPORTERS

    for entry in suite.generate:
        source = f"{suite.path}: generate {entry['id']!r}"
        params = resolve(entry["class"], entry.get("preset"), dict(entry.get("params", {})), source)
        for seed in entry["seeds"]:
            params["name"] = f"{entry['id']}-s{seed}"
            yield generate(entry["class"], params, seed, source=source)
    for entry in suite.imports:
        importer = IMPORTERS.get(entry["format"])
        if importer is None:
            raise InputError(str(suite.path), "import.format", f"one of {sorted(IMPORTERS)}", entry["format"])
        for rel in entry["paths"]:
            pattern = str(suite.path.parent / rel)
            files = sorted(Path(f) for f in glob.glob(pattern)) if glob.has_magic(rel) else [Path(pattern)]
            files = [f for f in files if f.is_file()]
            if not files:
                missing.append(rel)
                continue
            for f in files:
                yield from importer.read(f, **entry.get("options", {}))


def expected_count(suite: Suite) -> int:
    """A lower bound on the suite's instances, for a progress bar: those its ``generate`` entries
    make plus one per existing imported file (a file may hold several)."""
    files = 0
    for entry in suite.imports:
        for rel in entry["paths"]:
            pattern = str(suite.path.parent / rel)
            found = glob.glob(pattern) if glob.has_magic(rel) else [pattern]
            files += sum(1 for f in found if Path(f).is_file())
    return sum(len(entry["seeds"]) for entry in suite.generate) + files


def read_lock(suite: Suite) -> dict[str, str] | None:
    """The lock's name -> hash map, or None when there is no lock file."""
    if not suite.lock_path.exists():
        return None
    doc = jsonio.load(suite.lock_path)
    if not isinstance(doc, dict) or not isinstance(doc.get("instances"), dict):
        raise InputError(str(suite.lock_path), "$.instances", "an object of instance name -> hash", "other")
    return dict(doc["instances"])


def write_lock(suite: Suite, hashes: dict[str, str]) -> None:
    """Write the lock (sorted, one instance a line)."""
    doc = {"suite": suite.name, "instances": dict(sorted(hashes.items()))}
    jsonio.write_bytes(suite.lock_path, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8"))


@dataclass
class BuildReport:
    """What a build or verify did."""

    hashes: dict[str, str]
    missing: list[str]
    written: list[Path]


def build(
    suite: Suite,
    out: str | Path | None = None,
    *,
    check_lock: bool = True,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Materialise a suite (into ``out`` when given) and compare every hash with the lock.
    ``progress`` is called with each instance's name once it is hashed (or written).

    Raises:
        LockMismatchError: an instance's hash differs from the lock, or an instance is in one and not
            the other (instances whose source files are missing excepted).
        InputError: malformed manifest, parameters or source files; no lock file when
            ``check_lock``.
    """
    lock = read_lock(suite) if check_lock else None
    if check_lock and lock is None:
        raise InputError(
            str(suite.lock_path),
            "$",
            f"a lock file (create it with `schedbench suite lock {suite.name}`)",
            "no such file",
        )
    missing: list[str] = []
    hashes: dict[str, str] = {}
    written: list[Path] = []
    for inst in _iter_instances(suite, missing=missing):
        if inst.name in hashes:
            raise InputError(str(suite.path), "$", "unique instance names", f"{inst.name!r} twice")
        if out is not None:
            target = Path(out) / f"{inst.name}.json"
            hashes[inst.name] = save(inst, target)
            written.append(target)
        else:
            hashes[inst.name] = content_hash(inst)
        if progress is not None:
            progress(inst.name)
    if lock is not None:
        bad = [
            (n, lock.get(n), hashes.get(n))
            for n in sorted(set(lock) | set(hashes))
            if lock.get(n) != hashes.get(n) and not (n not in hashes and missing)
        ]
        if bad:
            raise LockMismatchError(suite.name, bad)
    return BuildReport(hashes, missing, written)
