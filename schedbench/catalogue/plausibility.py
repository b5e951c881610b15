"""Plausibility checks on the catalogue's throughput figures.

A figure that fails a check is marked ``suspect`` (:attr:`Figure.suspect` says which check and
the numbers): it stays in the catalogue with its source, the derivation rules do not use it, and
the instance generators leave it out unless ``include_suspect=true``. The checks, per job type
and placement (consolidated throughput):

S1 scaling falls
    On one GPU type, the throughput at ``n2`` GPUs is below that at the next smaller count ``n1``
    by more than :data:`TOL_FALL` (5 %): adding GPUs to a data-parallel job does not make it
    slower. The figure at ``n2`` is marked.
S2 super-linear scaling
    The throughput at ``n2`` exceeds ``n2 / n1`` times that at ``n1`` by more than
    :data:`TOL_SUPERLINEAR` (10 %). The figure at ``n2`` is marked.
S3 newer GPU slower
    For a GPU type pair ordered by :data:`NEWER_THAN` (a successor in the same product line, or an
    Ampere-or-later GPU against a Kepler or Pascal one), the newer GPU's throughput at ``n`` GPUs
    is below the older one's by more than :data:`TOL_NEWER` (10 %). The newer GPU's figure is
    marked (the expected-faster one fell short; which of the two is wrong cannot be told).

Checks compare only figures not already marked and with a result (a 0 records a run that did not
happen, e.g. out of memory; generators never use it); S1/S2 run before S3. :func:`mark_suspect` runs
on the measured figures before the derivation rules (so no derived figure inherits a suspect
input) and again on the result (derived figures are checked the same way).
"""

from __future__ import annotations

from dataclasses import replace

from schedbench.catalogue.model import Catalogue, Figure, JobType

TOL_FALL = 0.05
TOL_SUPERLINEAR = 0.10
TOL_NEWER = 0.10

_A100 = ("A100-PCIe-40GB", "A100-PCIe-80GB", "A100-SXM4-80GB")
_H100 = ("H100-PCIe-80GB", "H100-SXM5-80GB")
_AMPERE_PLUS = ("A10", *_A100, *_H100, "RTX3090", "RTXA6000", "RTX4090", "RTX6000Ada")
_LINES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("K80",), ("P100",), ("V100",), _A100, _H100),  # data-centre training GPUs
    (("RTX8000",), ("RTXA6000",), ("RTX6000Ada",)),  # workstation
    (("RTX3090",), ("RTX4090",)),  # consumer
)


def _pairs() -> frozenset[tuple[str, str]]:
    out = set()
    for line in _LINES:
        for i, older in enumerate(line):
            for newer in line[i + 1 :]:
                out |= {(a, b) for a in older for b in newer}
    out |= {(a, b) for a in ("K80", "P100") for b in _AMPERE_PLUS}
    return frozenset(out)


#: ``(older, newer)`` GPU type pairs: the newer should not be slower (datasheets: each successor
#: has more peak FP32 and memory bandwidth than its predecessor in the line).
NEWER_THAN: frozenset[tuple[str, str]] = _pairs()


def _g(x: float) -> str:
    return f"{x:.6g}"


def check_job(jt: JobType) -> dict[tuple[str, int], str]:
    """Findings for one job type: ``(gpu, count) -> reason`` for each figure that fails a check."""
    thr = jt.throughput
    bad: dict[tuple[str, int], str] = {}
    ok = {k: f for k, f in thr.items() if f.suspect is None and f.value > 0}  # 0: no result, not a figure
    for gpu in sorted({g for g, _ in ok}):
        counts = sorted(n for g, n in ok if g == gpu)
        prev = None
        for n in counts:
            f = ok[(gpu, n)]
            if prev is not None:
                n1, f1 = prev
                if f.value < f1.value * (1 - TOL_FALL):
                    bad[(gpu, n)] = (
                        f"S1 scaling falls: {_g(f.value)} on {n} x {gpu} < {_g(f1.value)} on {n1} x "
                        f"{gpu} (tolerance {TOL_FALL:.0%})"
                    )
                    continue
                if f.value > f1.value * (n / n1) * (1 + TOL_SUPERLINEAR):
                    bad[(gpu, n)] = (
                        f"S2 super-linear scaling: {_g(f.value)} on {n} x {gpu} > {n}/{n1} x "
                        f"{_g(f1.value)} on {n1} x {gpu} (tolerance {TOL_SUPERLINEAR:.0%})"
                    )
                    continue
            prev = (n, f)
    ok = {k: f for k, f in ok.items() if k not in bad}
    for older, newer in sorted(NEWER_THAN):
        for n in (1, 2, 4, 8):
            a, b = ok.get((older, n)), ok.get((newer, n))
            if a is None or b is None or (newer, n) in bad:
                continue
            if b.value < a.value * (1 - TOL_NEWER):
                bad[(newer, n)] = (
                    f"S3 newer GPU slower: {_g(b.value)} on {n} x {newer} < {_g(a.value)} on {n} x "
                    f"{older} (tolerance {TOL_NEWER:.0%})"
                )
    return bad


def mark_suspect(cat: Catalogue) -> tuple[Catalogue, dict[str, dict[tuple[str, int], str]]]:
    """The catalogue with failing throughput figures marked suspect, and the findings per job type
    (figures already marked keep their reason)."""
    jobs: dict[str, JobType] = {}
    found: dict[str, dict[tuple[str, int], str]] = {}
    for key, jt in sorted(cat.job_types.items()):
        bad = check_job(jt)
        if bad:
            found[key] = bad
            thr: dict[tuple[str, int], Figure] = {
                k: replace(f, suspect=bad[k]) if k in bad else f for k, f in jt.throughput.items()
            }
            jt = replace(jt, throughput=thr)
        jobs[key] = jt
    return replace(cat, job_types=jobs), found


def suspect_figures(cat: Catalogue) -> list[tuple[str, str, int, Figure]]:
    """Every suspect throughput figure: ``(job key, gpu, count, figure)``."""
    return [
        (k, g, n, f)
        for k, jt in sorted(cat.job_types.items())
        for (g, n), f in sorted(jt.throughput.items())
        if f.suspect is not None
    ]
