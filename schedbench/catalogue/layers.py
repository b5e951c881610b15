"""Catalogue layers and the figure-level merge behind ``schedbench catalogue merge``.

The catalogue everyone uses (:func:`schedbench.catalogue.load_catalogue` with no path: the CLI's
``catalogue`` commands, the instance generators) is three layers, later ones extending earlier ones:

1. ``schedbench/data/catalogue.json``: the published sources and the derivation rules (rebuilt
   byte for byte by ``schedbench catalogue build``);
2. ``schedbench/data/profiled.json``: the project's own ``schedbench profile`` measurements (the
   source article's four models on CPU), added with ``schedbench catalogue merge --into``;
3. the **user catalogue**: ``$SCHEDBENCH_USER_CATALOGUE`` when set (an empty value or ``none``
   turns it off), else ``$XDG_DATA_HOME/schedbench/catalogue.json`` (``~/.local/share/...``),
   when that file exists. ``schedbench catalogue merge ENTRY.json`` writes there.

Layers 2 and 3 are catalogue fragments (``schedbench/catalogue/1``). With a user catalogue, the
version becomes ``<shipped version>+user.<first 12 hex digits of the file's SHA-256>``, so every
generated instance records which figures it was drawn from.

Merge rules (:func:`merge_fragment`), figure by figure:

- a new source, GPU type or job type is added; a source already present must be identical; a GPU
  type already present keeps its existing spec (the fragment's copy is ignored);
- a job type already present must agree on family, model, task, batch size, precision and unit;
  its figures are merged cell by cell: a new cell is added; a measured figure replaces a derived one
  (a measurement supersedes an estimate), and once a GPU type has a measured throughput for a job,
  the derived throughput estimates of that job on that GPU type are dropped (the rules only derive
  for GPU types without a measurement); two measured figures for one cell conflict unless
  ``replace`` (then the newer wins); derived figures never replace anything. Derived cells on other
  GPU types are untouched: they keep their documented rules.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from schedbench import jsonio
from schedbench.catalogue.model import DERIVED, MEASURED, Catalogue, Figure, JobType
from schedbench.errors import InputError

USER_ENV = "SCHEDBENCH_USER_CATALOGUE"
_OFF = ("", "none", "off", "0")
_IDENTITY = ("family", "model", "task", "batch_size", "precision", "unit")


def profiled_path() -> Path:
    """The shipped fragment of the project's own measurements (layer 2)."""
    return Path(str(resources.files("schedbench") / "data" / "profiled.json"))


def user_catalogue_path() -> Path | None:
    """The user catalogue's path (layer 3), whether or not it exists; None when turned off."""
    env = os.environ.get(USER_ENV)
    if env is not None:
        return None if env.strip().lower() in _OFF else Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "schedbench" / "catalogue.json"


def empty_fragment(version: str = "user") -> Catalogue:
    """A catalogue fragment without sources, GPU types or job types (what a merge starts from)."""
    return Catalogue(version, {}, {}, {})


@dataclass
class MergeReport:
    """What a merge did: job types added or extended, figures added, replaced (derived or, with
    ``replace``, measured) and derived estimates dropped."""

    added_jobs: list[str] = field(default_factory=list)
    extended_jobs: list[str] = field(default_factory=list)
    added_gpus: list[str] = field(default_factory=list)
    figures_added: int = 0
    figures_replaced: int = 0
    derived_dropped: int = 0

    def summary(self) -> str:
        """One line counting what the merge added, extended, replaced and dropped."""
        return (
            f"{len(self.added_jobs)} job type(s) added, {len(self.extended_jobs)} extended, "
            f"{len(self.added_gpus)} GPU type(s) added; {self.figures_added} figure(s) added, "
            f"{self.figures_replaced} replaced, {self.derived_dropped} derived estimate(s) dropped"
        )


class MergeConflictError(ValueError):
    """Two catalogues disagree on something the merge cannot decide (see the module docstring)."""


def _merge_cells(label: str, old: dict, new: dict, replace_measured: bool, report: MergeReport) -> dict:
    out = dict(old)
    for cell, f in new.items():
        have = out.get(cell)
        if have is None:
            out[cell] = f
            report.figures_added += 1
        elif f.kind == DERIVED:
            continue
        elif have.kind == DERIVED or replace_measured:
            if have != f:
                out[cell] = f
                report.figures_replaced += 1
        elif have != f:
            raise MergeConflictError(
                f"{label} {cell}: already measured ({have.value:g} {have.unit}, source "
                f"{have.provenance.source}); merge with --replace to overwrite it"
            )
    return out


def _drop_superseded(throughput: dict[tuple[str, int], Figure], report: MergeReport) -> dict:
    measured = {g for (g, _), f in throughput.items() if f.kind == MEASURED}
    kept = {c: f for c, f in throughput.items() if not (f.kind == DERIVED and c[0] in measured)}
    report.derived_dropped += len(throughput) - len(kept)
    return kept


def _merge_job(old: JobType, new: JobType, replace_measured: bool, report: MergeReport) -> JobType:
    for attr in _IDENTITY:
        if getattr(old, attr) != getattr(new, attr):
            raise MergeConflictError(
                f"job type {old.key!r}: {attr} differs ({getattr(old, attr)!r} in the catalogue, "
                f"{getattr(new, attr)!r} in the fragment); use another key (--key)"
            )
    k = old.key
    throughput = _merge_cells(f"{k}: throughput", old.throughput, new.throughput, replace_measured, report)
    colocation = dict(old.colocation)
    for g, c in new.colocation.items():
        colocation.setdefault(g, c)
    return replace(
        old,
        throughput=_drop_superseded(throughput, report),
        throughput_unconsolidated=_merge_cells(
            f"{k}: throughput (unconsolidated)",
            old.throughput_unconsolidated,
            new.throughput_unconsolidated,
            replace_measured,
            report,
        ),
        max_batch=_merge_cells(f"{k}: max batch", old.max_batch, new.max_batch, replace_measured, report),
        memory_gib=_merge_cells(f"{k}: memory", old.memory_gib, new.memory_gib, replace_measured, report),
        compute_share=_merge_cells(
            f"{k}: compute share", old.compute_share, new.compute_share, replace_measured, report
        ),
        colocation=colocation,
    )


def merge_fragment(
    base: Catalogue, fragment: Catalogue, *, replace_measured: bool = False, version: str | None = None
) -> tuple[Catalogue, MergeReport]:
    """``base`` extended by ``fragment`` under the merge rules of the module docstring.

    Raises:
        MergeConflictError: a source that differs, a job type whose identity differs, two measured
            figures for one cell (without ``replace_measured``).
    """
    report = MergeReport()
    sources = dict(base.sources)
    for key, s in fragment.sources.items():
        if key in sources and sources[key] != s:
            raise MergeConflictError(f"source {key!r} differs between the catalogue and the fragment")
        sources[key] = s
    gpus = dict(base.gpus)
    for gid, spec in fragment.gpus.items():
        if gid not in gpus:
            gpus[gid] = spec
            report.added_gpus.append(gid)
    jobs = dict(base.job_types)
    for key, jt in sorted(fragment.job_types.items()):
        if key in jobs:
            jobs[key] = _merge_job(jobs[key], jt, replace_measured, report)
            report.extended_jobs.append(key)
        else:
            before = (
                len(jt.throughput)
                + len(jt.throughput_unconsolidated)
                + len(jt.max_batch)
                + len(jt.memory_gib)
                + len(jt.compute_share)
            )
            jobs[key] = jt
            report.added_jobs.append(key)
            report.figures_added += before
    return Catalogue(version or base.version, sources, gpus, jobs), report


def read_fragment(path: str | Path) -> Catalogue:
    """A catalogue fragment file, read strictly (InputError naming the file and the JSON path)."""
    return Catalogue.from_dict(jsonio.load(path), str(path))


def merge_files(
    target: Path, fragments: Iterable[Path], *, replace_measured: bool = False, check_against: Catalogue | None = None
) -> tuple[Catalogue, MergeReport]:
    """Merge fragment files into the catalogue file ``target`` (created when missing) and write it.

    ``check_against`` (the catalogue ``target`` will extend, e.g. the shipped one): the result must
    merge into it too, so that a conflict shows now rather than when the catalogue is next loaded.

    Raises:
        InputError: a malformed fragment or target, or a conflict (naming the fragment file).
    """
    shipped_layer = target.resolve() == profiled_path().resolve()
    current = read_fragment(target) if target.exists() else empty_fragment("profiled" if shipped_layer else "user")
    total = MergeReport()
    for path in fragments:
        frag = read_fragment(path)
        try:
            current, rep = merge_fragment(current, frag, replace_measured=replace_measured)
            if check_against is not None:
                merge_fragment(check_against, current, replace_measured=True)
        except MergeConflictError as exc:
            raise InputError(
                str(path), "$.job_types", "figures that the catalogue does not already measure", str(exc)
            ) from None
        total.added_jobs += [k for k in rep.added_jobs if k not in total.added_jobs]
        total.extended_jobs += [k for k in rep.extended_jobs if k not in total.extended_jobs]
        total.added_gpus += rep.added_gpus
        total.figures_added += rep.figures_added
        total.figures_replaced += rep.figures_replaced
        total.derived_dropped += rep.derived_dropped
    target.parent.mkdir(parents=True, exist_ok=True)
    jsonio.write_bytes(target, jsonio.dumps_canonical(current.to_dict()))
    return current, total


def _stamp(path: Path) -> tuple[str, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size)


_CACHE: dict[tuple, tuple[Catalogue, Catalogue]] = {}


def _layered(base: Catalogue, profiled: tuple[str, int, int] | None, user: tuple[str, int, int] | None) -> Catalogue:
    key = (id(base), profiled, user)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is base:
        return hit[1]
    cat = base
    for stamp, what in ((profiled, "profiled"), (user, "user")):
        if stamp is None:
            continue
        path = Path(stamp[0])
        raw = jsonio.read_bytes(path)
        frag = Catalogue.from_dict(jsonio.loads(raw, str(path)), str(path))
        version = cat.version if what == "profiled" else f"{cat.version}+user.{hashlib.sha256(raw).hexdigest()[:12]}"
        try:
            # a later layer's measurements win, as `catalogue merge --replace` would decide
            cat = merge_fragment(cat, frag, replace_measured=True, version=version)[0]
        except MergeConflictError as exc:
            raise InputError(str(path), "$", f"a {what} catalogue that extends the shipped one", str(exc)) from None
    if len(_CACHE) > 8:
        _CACHE.clear()
    _CACHE[key] = (base, cat)
    return cat


def with_layers(shipped: Catalogue, *, user: bool = True) -> Catalogue:
    """The shipped catalogue extended by the project's measurements and (``user``) the user
    catalogue, each when its file exists; cached until one of the files changes.

    Raises:
        InputError: a malformed layer file, or one that conflicts with the shipped catalogue.
    """
    path = user_catalogue_path() if user else None
    return _layered(shipped, _stamp(profiled_path()), None if path is None else _stamp(path))


__all__ = [
    "USER_ENV",
    "MergeConflictError",
    "MergeReport",
    "empty_fragment",
    "merge_files",
    "merge_fragment",
    "profiled_path",
    "read_fragment",
    "user_catalogue_path",
    "with_layers",
]
