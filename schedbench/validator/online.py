"""Validator for the ``online`` class: jobs arrive over time; a solution is an event log that the
validator replays.

Solution::

    {"problem": "online", "events": [
        {"time": t, "job": "<job id>", "event": "start" | "preempt" | "resume" | "migrate" | "finish" | "reject",
         "gpus": ["<gpu id>", ...]}, ...]}

``gpus`` is required for ``start``, ``resume`` and ``migrate`` (the GPUs the job holds from then
on) and must be absent or ``[]`` for ``preempt``, ``finish`` and ``reject``. An event has no other
fields. Structural problems (``events`` not an array, an event not an object, a missing, repeated
or unknown field, a time that is not a finite number, an unknown event name, a job id that is not a
string, ``gpus`` not an array of strings or non-empty where it must be empty) raise
:class:`~schedbench.errors.DataError` naming the JSON path, e.g. ``$.events[12].time``. Everything
else is a violation; the validator never stops at the first one.

Order. Events may appear in any order in the file. They are replayed sorted by time; at equal
times ``preempt`` and ``finish`` come first, then ``migrate``, then ``start``, ``resume`` and
``reject``, each group in file order.

Per-job state machine (an event naming an unknown job is violation ``unknown-job`` and is skipped):

* ``start``: pending -> running, on the given GPUs. Needs ``time >= release`` (``release``).
* ``preempt``: running -> preempted; releases the GPUs (``preemption-disallowed`` when the
  parameter ``allow_preemption`` is false).
* ``resume``: preempted -> running, on the given GPUs, which may differ from the earlier ones and
  may even be of another GPU type.
* ``migrate``: running -> running; the job leaves its GPUs and takes the given ones at that instant;
  counts as a migration (``migration-disallowed`` when ``allow_migration`` is false).
* ``finish``: running -> finished; releases the GPUs; the job's work must be done (below).
* ``reject``: pending -> rejected (admission control; the job never ran). Needs ``time >= release``
  (``release``); ``rejection-disallowed`` when ``allow_rejection`` is false.

Any other event (e.g. ``resume`` of a running job, anything after ``finish``) is violation
``invalid-transition`` and is otherwise ignored: the state does not change and its GPUs are not
held. At the end of the log every job must be finished or rejected, else ``unfinished``.

Gangs. Every ``start``/``resume``/``migrate`` GPU list must pass the gang checks of the other
classes: exactly ``gang`` distinct known GPUs, one GPU type, one node unless ``allow_multi_node``,
a type the job is eligible for (``unknown-gpu``, ``duplicate-gpu``, ``gang-size``,
``gang-mixed-types``, ``gang-multi-node``, ``ineligible-type``).

Holding and capacity. A job holds the GPUs of a ``start``/``resume``/``migrate`` from that event's
time ``t0`` until its next ``preempt``/``migrate``/``finish`` at ``t1`` (for ever if there is none).
While it holds a GPU of type ``t`` it puts its per-GPU demand ``demand[j, t]`` on that GPU in every
resource dimension. At every instant and on every GPU the summed demand must fit the capacity
(tolerance 1e-9 relative + 1e-9 absolute), else ``capacity``, reported once per GPU, resource and
overload episode, naming the time it begins, the load and the jobs on the GPU.
A GPU released at ``t`` may be taken by another job at ``t`` (hand-overs within 1e-6 s count as
back-to-back, and holdings no longer than 1e-6 s put no load), and a job whose demand alone exceeds
its GPU type's capacity is also reported so. Busy GPU time (``utilisation``) comes from the same
holdings.

Progress and overheads. Progress is a fraction of the job's work: a running segment on GPUs of
type ``t`` advances it at rate ``1 / time[j, t]``. The first ``preempt_overhead_s`` seconds of a
segment that begins with ``resume`` (checkpoint restore) and the first ``migrate_overhead_s``
seconds of a segment that begins with ``migrate`` make no progress; a ``start`` has no overhead.
(That is ``overhead_model`` ``fixed``, the default; the presets replace both durations per job.)
So ``work_j = sum over segments of max(0, (t1 - t0) - overhead) / time[j, type]``. At ``finish``
the work must be at least ``1 - 1e-9`` less the 1e-6 s time tolerance on the last segment's type
(``1 - 1e-9 - 1e-6 / time[j, type]``), else ``finish-before-work-done``. Finishing later than
needed (the job idles on its GPUs) is allowed. Segments with an unusable GPU list (no known GPU or
an ineligible type, already reported) carry no known progress and the work check is skipped.

Metrics (``None`` where undefined, e.g. no job finished). JCT_j = finish_j - release_j over
finished jobs.

* ``finished``, ``rejected``, ``preemptions``, ``migrations``, ``rejections``: counts
  (``rejected`` == ``rejections``: valid ``reject`` events).
* ``jct_mean``, ``jct_median``, ``jct_p95``, ``jct_p99``: mean and percentiles of JCT (numpy's
  default linear interpolation).
* ``makespan``: the last finish time; when no job finished, the last event time.
* ``utilisation``: GPU-seconds held (holding intervals clipped at the makespan, counted per GPU)
  / (number of GPUs x (makespan - earliest release)).
* ``deadline_met_fraction``: among jobs with a deadline, the fraction finished by it (finish <=
  deadline + 1e-6 s); rejected and unfinished jobs miss. None when no job has a deadline.
* ``queueing_delay_mean``: mean of first start - release over started jobs.
* ``bounded_slowdown_mean``: mean over finished jobs of ``max(1, JCT_j / max(p_j, tau))``, with
  ``tau`` = ``slowdown_threshold_s`` and ``p_j`` the job's best processing time: the smallest
  ``time[j, t]`` over types it is eligible for that have at least ``gang_j`` GPUs.
* ``ftf_max``, ``ftf_mean``: finish-time fairness (after Themis) ``rho_j = JCT_j / T_ideal_j``
  over finished jobs, where ``T_ideal_j = p_j * max(1, n_j * gang_j / G)`` is the time the job
  would take on its isolated share of the cluster: ``G`` is the number of GPUs and ``n_j`` the
  number of jobs released (release <= release_j) and not yet finished or rejected at release_j,
  counting j itself.
* ``acceptance_rate``: 1 - rejected / jobs (shown beside JCT so no policy looks good by rejecting).
* ``wasted_gpu_seconds``: over segments that begin with ``resume``/``migrate``, ``min(overhead,
  segment length) x GPUs held``; the overhead comes from ``overhead_model``
  (:mod:`schedbench.validator.overheads`: ``fixed`` uses the two parameters above; presets
  ``zero``, ``helios``, ``lucid``, ``pollux``, ``sia`` give it per job).
* ``littles_law_l``, ``littles_law_lambda_w``, ``littles_law_error``: Little's law over the jobs
  that left, see :func:`_littles_law`.
* ``jain_index``: Jain's fairness index ``(sum x)^2 / (n * sum x^2)`` of ``x_j = 1 / rho_j`` over
  the finished jobs.

Objective by ``problem.objective``: ``mean-jct`` -> ``jct_mean``; ``p99-jct`` -> ``jct_p99``;
``makespan`` -> ``makespan``; ``mean-bounded-slowdown`` -> ``bounded_slowdown_mean``;
``deadline-miss-rate`` -> ``1 - deadline_met_fraction`` (0 when no job has a deadline);
``max-ftf`` -> ``ftf_max``. It is None when some job is neither finished nor rejected (the metrics
are still computed over what finished) or when the metric is undefined. Note that rejected jobs
do not enter the JCT, slowdown and fairness metrics; they count only as deadline misses.
"""

from __future__ import annotations

from itertools import chain, repeat
from typing import Any

import numpy as np

from schedbench.errors import DataError, describe
from schedbench.instances.model import Instance
from schedbench.validator.bounds import row_min, usable_types
from schedbench.validator.common import ATOL, RTOL, TIME_ATOL, as_number, gpu_lists
from schedbench.validator.overheads import job_overheads
from schedbench.validator.result import Violations

#: Event names, in the order of their codes.
EVENTS = ("start", "resume", "migrate", "preempt", "finish", "reject")
START, RESUME, MIGRATE, PREEMPT, FINISH, REJECT = range(6)
_CODE = {name: k for k, name in enumerate(EVENTS)}
#: Order of events at equal times: GPU releases, then migrations, then acquisitions.
_PHASE = np.array([2, 2, 1, 0, 0, 2], dtype=np.int64)
#: Job states.
STATES = ("pending", "running", "preempted", "finished", "rejected")
PENDING, RUNNING, PREEMPTED, FINISHED, REJECTED = range(5)


def _transitions() -> list[int]:
    """Flat table ``[6 * state + event] -> 6 * next state`` (-1: not allowed)."""
    table = [-1] * (6 * len(STATES))
    for s, k, nxt in (
        (PENDING, START, RUNNING),
        (PENDING, REJECT, REJECTED),
        (RUNNING, PREEMPT, PREEMPTED),
        (RUNNING, MIGRATE, RUNNING),
        (RUNNING, FINISH, FINISHED),
        (PREEMPTED, RESUME, RUNNING),
    ):
        table[6 * s + k] = 6 * nxt
    return table


_TRANS = _transitions()
_FIELDS = ("time", "job", "event", "gpus")


def _time(value: Any) -> float | None:
    """The event time as a float, or None when it is not a finite number."""
    try:
        return as_number(value)
    except OverflowError:  # an integer beyond the float range
        return None


def _event_error(file: str, i: int, ev: Any) -> DataError | None:
    """The structural error of event ``i``, or None when it is well formed."""
    path = f"$.events[{i}]"
    if not isinstance(ev, dict):
        return DataError(file, path, "an event object {time, job, event[, gpus]}", describe(ev))
    for key in getattr(ev, "duplicates", ()):
        return DataError(file, f"{path}.{key}", "the field given once", "a repeated field")
    for key in ("time", "job", "event"):
        if key not in ev:
            return DataError(file, f"{path}.{key}", "a value (required field)", "nothing")
    for key in ev:
        if key not in _FIELDS:
            return DataError(file, f"{path}.{key}", f"one of the fields {sorted(_FIELDS)}", f"unknown field {key!r}")
    if _time(ev["time"]) is None:
        return DataError(file, f"{path}.time", "a finite number (seconds)", describe(ev["time"]))
    if not isinstance(ev["job"], str):
        return DataError(file, f"{path}.job", "a job id string", describe(ev["job"]))
    name = ev["event"]
    if not isinstance(name, str) or name not in _CODE:
        return DataError(file, f"{path}.event", f"one of {list(EVENTS)}", describe(name))
    gpus = ev.get("gpus")
    if _CODE[name] <= MIGRATE:
        if "gpus" not in ev:
            return DataError(file, f"{path}.gpus", f"an array of GPU id strings (required for {name!r})", "nothing")
        if not isinstance(gpus, list) or not all(isinstance(g, str) for g in gpus):
            return DataError(file, f"{path}.gpus", "an array of GPU id strings", describe(gpus))
    elif "gpus" in ev and not (isinstance(gpus, list) and not gpus):
        return DataError(
            file, f"{path}.gpus", f"no GPUs (omit the field or give []) on a {name!r} event", describe(gpus)
        )
    return None


def _parse(body: Any, file: str) -> tuple[np.ndarray, np.ndarray, list[str], list[int], list[list[str]]]:
    """Check the events' structure; return per event its time and kind code, the job ids, and the
    indices and GPU lists of the acquisitions (start, resume, migrate).

    The fast path checks whole columns at once; anything unusual (malformed or numpy values) goes
    through the event-by-event check, which names the first malformed event.
    """
    if not isinstance(body, list):
        raise DataError(file, "$.events", "an array of event objects", describe(body))
    try:
        if not set(map(type, body)) <= {dict}:
            raise ValueError
        codes = _CODE
        raw_t = [ev["time"] for ev in body]
        names = [ev["job"] for ev in body]
        kinds = np.array([codes[ev["event"]] for ev in body], dtype=np.int64).reshape(len(body))
        if not set(map(type, raw_t)) <= {int, float} or not set(map(type, names)) <= {str}:
            raise ValueError
        times = np.array(raw_t, dtype=np.float64).reshape(len(body))
        if not np.isfinite(times).all():
            raise ValueError
        lens = np.fromiter(map(len, body), dtype=np.int64, count=len(body))
        is_acq = kinds <= MIGRATE
        if not (lens[is_acq] == 4).all() or not ((lens[~is_acq] == 3) | (lens[~is_acq] == 4)).all():
            raise ValueError
        for i in np.flatnonzero(~is_acq & (lens == 4)).tolist():
            g = body[i].get("gpus", 0)
            if type(g) is not list or g:
                raise ValueError
        acq = np.flatnonzero(is_acq).tolist()
        lists = [body[i]["gpus"] for i in acq]
        if not set(map(type, lists)) <= {list} or not set(map(type, chain.from_iterable(lists))) <= {str}:
            raise ValueError
    except (KeyError, TypeError, ValueError, OverflowError):
        return _parse_slow(body, file)
    return times, kinds, names, acq, lists


def _parse_slow(body: list, file: str) -> tuple[np.ndarray, np.ndarray, list[str], list[int], list[list[str]]]:
    """Event-by-event version of :func:`_parse`: raises on the first malformed event."""
    times: list[float] = []
    kinds: list[int] = []
    names: list[str] = []
    acq: list[int] = []
    lists: list[list[str]] = []
    for i, ev in enumerate(body):
        err = _event_error(file, i, ev)
        if err is not None:
            raise err
        times.append(_time(ev["time"]))  # type: ignore[arg-type]
        names.append(ev["job"])
        k = _CODE[ev["event"]]
        kinds.append(k)
        if k <= MIGRATE:
            acq.append(i)
            lists.append(ev["gpus"])
    return (
        np.array(times, dtype=np.float64).reshape(len(body)),
        np.array(kinds, dtype=np.int64).reshape(len(body)),
        names,
        acq,
        lists,
    )


def _fmt_t(t: float) -> str:
    return f"{t:.9g}"


def _num(x: Any) -> float | None:
    """A finite float, or None."""
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


#: The metric that is the objective, for every objective but ``deadline-miss-rate`` (1 - deadline_met_fraction).
_OBJECTIVE_METRIC = {
    "mean-jct": "jct_mean",
    "p99-jct": "jct_p99",
    "makespan": "makespan",
    "mean-bounded-slowdown": "bounded_slowdown_mean",
    "max-ftf": "ftf_max",
}


def validate_online(inst: Instance, body: Any, file: str, viol: Violations) -> tuple[float | None, dict]:
    """Replay an event log; return (objective, metrics). Violations go to ``viol``."""
    jobs = inst.jobs
    ids = jobs.ids
    n, G = len(jobs), inst.n_gpus
    params = inst.problem.params
    ev_t, ev_k, names, acq_list, acq_lists = _parse(body, file)
    ev_j = np.fromiter(map(jobs.index.get, names, repeat(-1)), dtype=np.int64, count=len(names))
    unknown = np.flatnonzero(ev_j < 0)
    viol.add_many(
        "unknown-job", unknown, lambda i: (f"event {i} ($.events[{i}]) names unknown job {names[i]!r}", names[i], None)
    )
    # acquisitions of known jobs are the gang-checked entries, in file order
    acq_ev = np.asarray(acq_list, dtype=np.int64)
    acq_known = ev_j[acq_ev] >= 0
    ev_e = np.full(len(names), -1, dtype=np.int64)
    ev_e[acq_ev[acq_known]] = np.arange(int(acq_known.sum()))
    lists = acq_lists if acq_known.all() else [gl for gl, ok in zip(acq_lists, acq_known.tolist(), strict=True) if ok]
    gangs = gpu_lists(inst, ev_j[acq_ev[acq_known]].tolist(), lists, viol)

    # replay order: known jobs, by time, releases before migrations before acquisitions, file order
    known = np.flatnonzero(ev_j >= 0)
    order = known[np.lexsort((known, _PHASE[ev_k[known]], ev_t[known]))]
    st, sk, sj, se = ev_t[order], ev_k[order], ev_j[order], ev_e[order]
    state = [0] * n
    trans = _TRANS
    bad: list[tuple[int, int]] = []
    for pos, (j, k) in enumerate(zip(sj.tolist(), sk.tolist(), strict=True)):
        s = state[j]
        nxt = trans[s + k]
        if nxt < 0:
            bad.append((pos, s // 6))
        else:
            state[j] = nxt
    final = np.asarray(state, dtype=np.int64) // 6
    valid = np.ones(len(order), dtype=bool)
    if bad:
        valid[[p for p, _ in bad]] = False
        viol.add_many(
            "invalid-transition",
            bad,
            lambda b: (
                f"job {ids[sj[b[0]]]!r}: {EVENTS[sk[b[0]]]!r} at time {_fmt_t(st[b[0]])} is not allowed in state "
                f"{STATES[b[1]]!r} (start/reject need pending, preempt/migrate/finish need running, resume needs "
                f"preempted); the event is ignored",
                ids[sj[b[0]]],
                None,
            ),
        )

    # valid events, grouped by job (file replay order kept within a job)
    vpos = np.flatnonzero(valid)
    vpos = vpos[np.argsort(sj[vpos], kind="stable")]
    jj, kk, tt, ee = sj[vpos], sk[vpos], st[vpos], se[vpos]
    same_next = np.zeros(len(vpos), dtype=bool)
    same_next[:-1] = jj[1:] == jj[:-1]

    for kind, param, name, verb in (
        (PREEMPT, "allow_preemption", "preemption", "preempted"),
        (MIGRATE, "allow_migration", "migration", "migrated"),
        (REJECT, "allow_rejection", "rejection", "rejected"),
    ):
        if not params.get(param, True):
            at = np.flatnonzero(kk == kind)

            def explain_disallowed(a: int, verb: str = verb, param: str = param) -> tuple[str, str | None, None]:
                return (
                    f"job {ids[jj[a]]!r} is {verb} at time {_fmt_t(float(tt[a]))} but {param} is false",
                    ids[jj[a]],
                    None,
                )

            viol.add_many(f"{name}-disallowed", at.tolist(), explain_disallowed)
    release = jobs.release
    early = np.flatnonzero(((kk == START) | (kk == REJECT)) & (tt < release[jj] - TIME_ATOL))
    viol.add_many(
        "release",
        early.tolist(),
        lambda a: (
            f"job {ids[jj[a]]!r} is {'started' if kk[a] == START else 'rejected'} at time {_fmt_t(tt[a])} before its "
            f"release {_fmt_t(release[jj[a]])}",
            ids[jj[a]],
            None,
        ),
    )

    # running segments: each valid acquisition until the job's next valid event (for ever if none)
    acq = np.flatnonzero(kk <= MIGRATE)
    seg_j, seg_e, seg_k, seg_t0 = jj[acq], ee[acq], kk[acq], tt[acq]
    closed = same_next[acq]
    seg_t1 = np.full(len(acq), np.inf)
    seg_t1[closed] = tt[acq[closed] + 1]
    seg_type = gangs.entry_type[seg_e] if len(seg_e) else np.zeros(0, dtype=np.int64)
    assert jobs.time is not None
    seg_p = np.full(len(acq), np.nan)
    typed = seg_type >= 0
    seg_p[typed] = jobs.time[seg_j[typed], seg_type[typed]]
    ov_resume, ov_migrate = job_overheads(params, jobs.gang, jobs.job_type)
    overhead = np.where(seg_k == RESUME, ov_resume[seg_j], np.where(seg_k == MIGRATE, ov_migrate[seg_j], 0.0))
    length = np.where(closed, seg_t1 - seg_t0, 0.0)
    progress = np.maximum(0.0, length - overhead) / seg_p
    work = np.bincount(seg_j, weights=progress, minlength=n) if len(seg_j) else np.zeros(n)

    # finish: work done (the segment just before a valid finish is the job's last one)
    fin = np.flatnonzero(kk == FINISH)
    fin_j = jj[fin]
    last_p = seg_p[np.searchsorted(acq, fin - 1)] if len(fin) else np.zeros(0)
    need = 1.0 - RTOL - TIME_ATOL / last_p
    short = np.flatnonzero(work[fin_j] < need)  # NaN (unknown progress) is never short
    viol.add_many(
        "finish-before-work-done",
        short.tolist(),
        lambda a: (
            f"job {ids[fin_j[a]]!r} finishes at time {_fmt_t(tt[fin[a]])} with only {work[fin_j[a]]:.9g} of its work "
            f"done",
            ids[fin_j[a]],
            None,
        ),
    )
    finish = np.full(n, np.nan)
    finish[fin_j] = tt[fin]
    rej = np.flatnonzero(kk == REJECT)
    reject_t = np.full(n, np.nan)
    reject_t[jj[rej]] = tt[rej]
    first_start = np.full(n, np.nan)
    starts = np.flatnonzero(kk == START)
    first_start[jj[starts]] = tt[starts]

    open_jobs = np.flatnonzero((final != FINISHED) & (final != REJECTED))
    viol.add_many(
        "unfinished",
        open_jobs.tolist(),
        lambda j: (
            f"job {ids[j]!r} is {STATES[final[j]]} at the end of the log (neither finished nor rejected)",
            ids[j],
            None,
        ),
    )

    # capacity: per GPU and resource, sweep over the holding intervals
    seg_of_entry = np.full(len(lists), -1, dtype=np.int64)
    seg_of_entry[seg_e] = np.arange(len(seg_e))
    pseg = seg_of_entry[gangs.pair_entry]
    held = pseg >= 0
    pseg, pg = pseg[held], gangs.pair_gpu[held]
    p_t0, p_t1, p_j = seg_t0[pseg], seg_t1[pseg], seg_j[pseg]
    _capacity(inst, viol, p_j, pg, p_t0, p_t1)

    # metrics
    is_fin = final == FINISHED
    n_fin = int(is_fin.sum())
    jct = (finish - release)[is_fin]
    last = float(ev_t.max()) if len(ev_t) else None
    makespan = float(np.nanmax(finish)) if n_fin else last
    metrics: dict[str, Any] = {"finished": n_fin, "rejected": int((final == REJECTED).sum())}
    if n_fin:
        p50, p95, p99 = np.percentile(jct, [50, 95, 99])
        metrics.update(jct_mean=_num(jct.mean()), jct_median=_num(p50), jct_p95=_num(p95), jct_p99=_num(p99))
    else:
        metrics.update(jct_mean=None, jct_median=None, jct_p95=None, jct_p99=None)
    metrics["makespan"] = makespan
    util = None
    if makespan is not None and G and n:
        span = makespan - float(release.min())
        if span > 0:
            busy = np.maximum(0.0, np.minimum(p_t1, makespan) - p_t0).sum()
            util = _num(busy / (G * span))
    metrics["utilisation"] = util
    dl = jobs.deadline
    met = None
    if dl is not None and (~np.isnan(dl)).any():
        has = ~np.isnan(dl)
        ok = is_fin[has] & (finish[has] <= dl[has] + TIME_ATOL)
        met = float(ok.mean())
    metrics["deadline_met_fraction"] = met
    started = ~np.isnan(first_start)
    metrics["queueing_delay_mean"] = _num((first_start - release)[started].mean()) if started.any() else None
    usable = jobs.eligible & (inst.gpus_per_type[None, :] >= jobs.gang[:, None])
    p_best = np.where(usable, np.nan_to_num(jobs.time, nan=np.inf), np.inf).min(axis=1)
    tau = float(params.get("slowdown_threshold_s", 10.0))
    if n_fin:
        with np.errstate(divide="ignore", invalid="ignore"):
            bsd = np.maximum(1.0, jct / np.maximum(p_best[is_fin], tau))
            # n_j: jobs released by release_j and not finished/rejected by then, j included
            end = np.where(is_fin, finish, np.where(final == REJECTED, reject_t, np.inf))
            end = np.maximum(end, release)
            r = release[is_fin]
            n_active = (
                np.searchsorted(np.sort(release), r, side="right")
                - np.searchsorted(np.sort(end), r, side="right")
                + (end[is_fin] <= r)
            )
            ideal = p_best[is_fin] * np.maximum(1.0, n_active * jobs.gang[is_fin] / G)
            rho = jct / ideal
            x = 1.0 / rho
            jain = x.sum() ** 2 / (len(x) * (x * x).sum())
        metrics.update(
            bounded_slowdown_mean=_num(bsd.mean()),
            ftf_max=_num(rho.max()),
            ftf_mean=_num(rho.mean()),
            jain_index=_num(jain),
        )
    else:
        metrics.update(bounded_slowdown_mean=None, ftf_max=None, ftf_mean=None, jain_index=None)
    metrics["preemptions"] = int((kk == PREEMPT).sum())
    metrics["migrations"] = int((kk == MIGRATE).sum())
    metrics["rejections"] = len(rej)
    metrics["acceptance_rate"] = _num(1.0 - len(rej) / n) if n else None
    # GPU-seconds held without progress: the overhead (or the shorter segment) x GPUs held
    seg_gpus = np.bincount(pseg, minlength=len(seg_j)) if len(seg_j) else np.zeros(0, dtype=np.int64)
    metrics["wasted_gpu_seconds"] = float((np.minimum(length, overhead) * seg_gpus).sum())
    metrics.update(_littles_law(release, np.where(is_fin, finish, reject_t), is_fin | (final == REJECTED)))

    objective = inst.problem.objective
    value: float | None
    if len(open_jobs):
        value = None
    elif objective == "deadline-miss-rate":
        value = 0.0 if met is None else 1.0 - met
    else:
        value = metrics[_OBJECTIVE_METRIC[objective]]
    return value, metrics


def _littles_law(release: np.ndarray, end: np.ndarray, done: np.ndarray) -> dict[str, float | None]:
    """Little's law over ``[first release, last departure]`` of the jobs that left (finished or
    rejected): ``L`` integrates the number in system (a sweep over arrivals and departures),
    ``lambda W`` is their count over the span times their mean sojourn; ``littles_law_error`` is
    ``|L - lambda W| / lambda W``. None when no job left or the span is empty."""
    none: dict[str, float | None] = {"littles_law_l": None, "littles_law_lambda_w": None, "littles_law_error": None}
    r, e = release[done], end[done]
    if not len(r):
        return none
    t0, t1 = float(r.min()), float(e.max())
    if not t1 > t0:
        return none
    when = np.concatenate([r, e])
    step = np.concatenate([np.ones(len(r)), -np.ones(len(e))])
    order = np.argsort(when, kind="stable")
    when, count = when[order], np.cumsum(step[order])
    area = float((count[:-1] * np.diff(when)).sum())
    L = area / (t1 - t0)
    lam_w = len(r) / (t1 - t0) * float((e - r).mean())
    err = abs(L - lam_w) / lam_w if lam_w > 0 else 0.0
    return {"littles_law_l": _num(L), "littles_law_lambda_w": _num(lam_w), "littles_law_error": _num(err)}


def _capacity(
    inst: Instance, viol: Violations, p_j: np.ndarray, pg: np.ndarray, p_t0: np.ndarray, p_t1: np.ndarray
) -> None:
    """Report every instant at which a GPU's load exceeds its capacity, once per overload episode.

    Each holding (job, GPU, t0, t1) adds the job's demand at t0 and removes it at t1 - 1e-6 s;
    at equal times removals come first, so back-to-back use of a GPU is not an overload.
    """
    keep = p_t1 - p_t0 > TIME_ATOL
    p_j, pg, p_t0, p_t1 = p_j[keep], pg[keep], p_t0[keep], p_t1[keep]
    if not len(pg):
        return
    dem = np.nan_to_num(inst.jobs.demand[p_j, inst.gpu_type[pg]], nan=0.0)  # (P, R)
    ends = np.isfinite(p_t1)
    gpu = np.concatenate([pg, pg[ends]])
    when = np.concatenate([p_t0, p_t1[ends] - TIME_ATOL])
    sign = np.concatenate([np.ones(len(pg), dtype=np.int8), np.zeros(int(ends.sum()), dtype=np.int8)])
    # by GPU, then time, then removals first: a time sort, then a stable (radix for small ints) GPU sort
    order = np.lexsort((sign, when))
    small = np.int16 if inst.n_gpus < 2**15 else np.int64
    order = order[np.argsort(gpu[order].astype(small), kind="stable")]
    gpu, when = gpu[order], when[order]
    load = np.cumsum(np.concatenate([dem, -dem[ends]])[order], axis=0)
    # restart the running sum at each GPU's first event
    first = np.ones(len(gpu), dtype=bool)
    first[1:] = gpu[1:] != gpu[:-1]
    starts = np.flatnonzero(first)
    base = np.zeros((len(starts), load.shape[1]))
    base[1:] = load[starts[1:] - 1]
    load -= base[np.cumsum(first) - 1]
    cap = inst.gpu_capacity[gpu]
    over = load > cap * (1 + RTOL) + ATOL
    if not over.any():
        return
    prev = np.zeros_like(over)
    prev[1:] = over[:-1] & ~first[1:, None]
    pos, res = np.nonzero(over & ~prev)
    jobs = inst.jobs

    def explain(k: int) -> tuple[str, None, str]:
        p, r = int(pos[k]), int(res[k])
        g, t = int(gpu[p]), float(when[p])
        on = np.flatnonzero((pg == g) & (p_t0 <= t) & (p_t1 - TIME_ATOL > t))
        names = sorted({jobs.ids[j] for j in p_j[on].tolist()})
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        gid = inst.gpu_ids[g]
        return (
            f"GPU {gid!r} {inst.resource_ids[r]}: load {load[p, r]:.6g} exceeds capacity {cap[p, r]:.6g} "
            f"at time {_fmt_t(t)} (jobs {shown})",
            None,
            gid,
        )

    viol.add_many("capacity", np.arange(len(pos)), explain)


def online_bounds(inst: Instance) -> dict[str, float]:
    """Cheap lower bounds: ``mean-jct`` >= the mean fastest usable time; ``makespan`` >= the latest
    ``release + fastest usable time``; none for the other objectives."""
    jobs = inst.jobs
    obj = inst.problem.objective
    assert jobs.time is not None
    pmin = row_min(jobs.time, usable_types(inst))
    if obj == "mean-jct":
        return {"lower_bound": float(pmin.mean())}
    if obj == "makespan":
        return {"lower_bound": float((jobs.release + pmin).max())}
    return {}
