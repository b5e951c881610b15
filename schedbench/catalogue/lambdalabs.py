"""Importer for Lambda's PyTorch training benchmark tables (lambdal/deeplearning-benchmark).

Format
------
Four CSV files, ``pytorch-train-{throughput,bs}-{fp32,fp16}.csv`` (the shared copies are named
``lambda_pytorch_train_{throughput,bs}_{fp32,fp16}.csv``), with the header
``name_gpu,num_gpu,watt,price,<model>,...`` and one row per system:

- ``name_gpu``: ``[<system> ][<n>x ]<GPU name>`` (``"LambdaCloud 2x V100 16GB"``,
  ``"8x H100 80GB SXM5"``, ``"Dell H100 80GB SXM5"``); the GPU name maps to a catalogue GPU id
  (:data:`schedbench.catalogue.gpus.LAMBDA_NAMES`); an unknown GPU name is an error.
- ``num_gpu``: GPUs in the system (single node); must agree with the name's ``<n>x``.
- ``watt``, ``price``: the GPUs' power and list price (checked as numbers, not imported).
- one column per model: in a *throughput* file the training throughput of the whole system, in the
  model's unit (:data:`MODELS`), averaged over runs and rounded by Lambda's script; 0 means there
  was no result (not imported). In a *bs* file the batch size the benchmark ran, all GPUs together
  (Lambda's configs set it per GPU memory size and reduce it until the run fits; Lambda calls it
  the largest batch that fits).

Which file is which is read from its name (``throughput`` or ``bs``, ``fp32`` or ``fp16``) unless
given. ``fp32`` is the FP32 configuration of NVIDIA's examples (on Ampere and Hopper GPUs these
run their matrix maths in TF32 unless disabled); ``fp16`` is automatic mixed precision.

Several rows may describe the same GPU type and count: Lambda's own rows (no prefix, or
``LambdaCloud``) and the same GPUs in partner vendors' servers (``Dell``, ``SMC``...). A
*throughput* figure is the median over all those rows with a result (their lines are listed in the
figure's detail): one outlying row cannot decide it (H100 SXM5 ResNet-50: 1,753 in Lambda's row
against 1,893-1,898 in the five others; median 1,893). A *batch size* (a configuration, not a
noisy measurement) comes from the unprefixed row, else the ``LambdaCloud`` row, else the
alphabetically first system; the others are reported in the notes.

Citation: Lambda, Inc. Deep Learning GPU Benchmarks (PyTorch training), https://lambdalabs.com/gpu-benchmarks;
data and code https://github.com/lambdal/deeplearning-benchmark (``pytorch/``). No licence file:
figures are quoted as facts with citation; the files are not redistributed.
"""

from __future__ import annotations

import csv
import io
import math
import re
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from schedbench import jsonio
from schedbench.catalogue import gpus as gpu_table
from schedbench.catalogue.model import MEASURED, Catalogue, Figure, ImportResult, JobType, Provenance, Source
from schedbench.errors import InputError

SOURCE = Source(
    "lambda",
    "Lambda, Inc. Deep Learning GPU Benchmarks: PyTorch training throughput and batch sizes "
    "(lambdal/deeplearning-benchmark, pytorch/pytorch-train-throughput-{fp32,fp16}.csv and "
    "pytorch/pytorch-train-bs-{fp32,fp16}.csv), NVIDIA DeepLearningExamples in NGC PyTorch containers.",
    "https://lambdalabs.com/gpu-benchmarks ; https://github.com/lambdal/deeplearning-benchmark",
    "no licence file; figures quoted as facts with citation, files not redistributed",
)

THROUGHPUT = "throughput"
BATCH = "bs"
PRECISIONS = ("fp32", "fp16")


@dataclass(frozen=True)
class _Model:
    key: str
    family: str
    model: str
    task: str
    unit: str


#: Lambda's model columns: catalogue key, family, model, task, throughput unit (as printed by NVIDIA's
#: training scripts and parsed by Lambda's compile_results_pytorch_throughput.py).
MODELS: dict[str, _Model] = {
    "ssd": _Model("ssd", "cnn", "SSD300 (ResNet-50 backbone)", "object detection, COCO", "images/s"),
    "resnet50": _Model("resnet50", "cnn", "ResNet-50", "image classification, ImageNet", "images/s"),
    "maskrcnn": _Model("maskrcnn", "cnn", "Mask R-CNN", "instance segmentation, COCO", "images/s"),
    "gnmt": _Model("gnmt", "rnn", "GNMT v2", "translation, WMT16 English-German", "tokens/s"),
    "ncf": _Model("ncf", "recommendation", "NCF", "recommendation, MovieLens-20M", "samples/s"),
    "transformerxlbase": _Model(
        "transformerxl-base", "transformer", "Transformer-XL base", "language modelling, WikiText-103", "tokens/s"
    ),
    "transformerxllarge": _Model(
        "transformerxl-large", "transformer", "Transformer-XL large", "language modelling, WikiText-103", "tokens/s"
    ),
    "tacotron2": _Model(
        "tacotron2", "speech", "Tacotron 2", "text-to-speech (mel spectrograms), LJ Speech", "mel frames/s"
    ),
    "waveglow": _Model("waveglow", "speech", "WaveGlow", "vocoder (audio synthesis), LJ Speech", "audio samples/s"),
    "bert_base_squad": _Model(
        "bert-base-squad", "transformer", "BERT-base", "question answering, SQuAD v1.1", "sequences/s"
    ),
    "bert_large_squad": _Model(
        "bert-large-squad", "transformer", "BERT-large", "question answering, SQuAD v1.1", "sequences/s"
    ),
}

_HEADER = ("name_gpu", "num_gpu", "watt", "price")
_NAME_RE = re.compile(r"(throughput|bs)[-_](fp32|fp16)")
_METHOD_T = (
    "Lambda's PyTorch benchmark: NVIDIA DeepLearningExamples training script, NGC container, one node, "
    "data parallel; whole-system throughput averaged over runs"
)
_METHOD_B = "batch size of Lambda's config for this system, all GPUs together (the largest that fits)"


def job_key(column: str, precision: str) -> str:
    """The catalogue key of Lambda's model column at a precision, e.g. ``resnet50-fp32-maxbatch``."""
    return f"{MODELS[column].key}-{precision}-maxbatch"


def classify(path: str | Path) -> tuple[str, str] | None:
    """``(table, precision)`` read from a Lambda file name, or None."""
    m = _NAME_RE.search(Path(path).name)
    return None if m is None else (m.group(1), m.group(2))


@dataclass(frozen=True)
class _Row:
    line: int
    name: str
    system: str | None
    gpu: str
    count: int
    values: dict[str, float]


def _rank(system: str | None) -> tuple[int, str]:
    return (0, "") if system is None else (1, "") if system == "LambdaCloud" else (2, system)


def _parse_number(text: str, file: str, where: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(file, where, what, repr(text)) from None
    if not math.isfinite(value) or value < 0:
        raise InputError(file, where, what, repr(text))
    return value


def _csv_lines(path: str | Path) -> list[list[str]]:
    """The CSV records of a UTF-8 file (a BOM allowed)."""
    file = str(path)
    raw = jsonio.read_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(file, "$", "UTF-8 CSV text", f"invalid byte at offset {exc.start}") from None
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(file, "$", "CSV text", str(exc)) from None
    return lines


def _read_rows(path: str | Path, table: str) -> tuple[list[str], list[_Row]]:
    file = str(path)
    lines = _csv_lines(path)
    if not lines:
        raise InputError(file, "line 1", "a header name_gpu,num_gpu,watt,price,<model>...", "an empty file")
    header = [h.strip() for h in lines[0]]
    if tuple(header[:4]) != _HEADER or len(header) < 5:
        raise InputError(file, "line 1", "a header name_gpu,num_gpu,watt,price,<model>...", repr(",".join(header)))
    models = header[4:]
    for i, col in enumerate(models):
        if col not in MODELS:
            raise InputError(
                file, f"line 1, column {i + 5} ({col!r})", f"one of Lambda's models {sorted(MODELS)}", repr(col)
            )
        if col in models[:i]:
            raise InputError(file, f"line 1, column {i + 5} ({col!r})", "each model once", "a repeated column")
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for line_no, cells in enumerate(lines[1:], start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise InputError(file, f"line {line_no}", f"{len(header)} fields", f"{len(cells)} fields")
        name = cells[0].strip()
        where = f"line {line_no} ({name!r})"
        if name in seen:
            raise InputError(file, f"{where}, column 'name_gpu'", "each system once", f"a repeat of line {seen[name]}")
        seen[name] = line_no
        rows.append(_row(file, table, header, models, line_no, cells))
    if not rows:
        raise InputError(file, "line 2", "at least one system row", "none")
    return models, rows


def _row(file: str, table: str, header: list[str], models: list[str], line_no: int, cells: list[str]) -> _Row:
    """One system row; the caller has checked its field count and that its name is not repeated."""
    name = cells[0].strip()
    where = f"line {line_no} ({name!r})"
    parsed = gpu_table.parse_lambda_name(name)
    if parsed is None:
        known = ", ".join(n for n, _ in gpu_table.LAMBDA_NAMES)
        raise InputError(
            file, f"{where}, column 'name_gpu'", f"'[<system> ][<n>x ]<GPU>' with a GPU among: {known}", repr(name)
        )
    count = _parse_number(cells[1], file, f"{where}, column 'num_gpu'", "a whole number of GPUs >= 1")
    if count != int(count) or count < 1:
        raise InputError(file, f"{where}, column 'num_gpu'", "a whole number of GPUs >= 1", repr(cells[1]))
    if int(count) != parsed.count:
        raise InputError(
            file, f"{where}, column 'num_gpu'", f"{parsed.count} (the GPU count in the name)", repr(cells[1])
        )
    for j in (2, 3):
        _parse_number(cells[j], file, f"{where}, column {header[j]!r}", "a number >= 0")
    values: dict[str, float] = {}
    for j, col in enumerate(models, start=4):
        what = "a throughput >= 0" if table == THROUGHPUT else "a whole batch size >= 0"
        v = _parse_number(cells[j], file, f"{where}, column {col!r}", what)
        if table == BATCH and v != int(v):
            raise InputError(file, f"{where}, column {col!r}", what, repr(cells[j]))
        values[col] = v
    return _Row(line_no, name, parsed.system, parsed.gpu, parsed.count, values)


def _num(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e15 else f"{v:.6g}"


def read_lambda_file(path: str | Path, table: str | None = None, precision: str | None = None) -> ImportResult:
    """Read one Lambda table into a catalogue fragment.

    ``table`` (``"throughput"`` or ``"bs"``) and ``precision`` (``"fp32"`` or ``"fp16"``) default to
    what the file name says.

    Raises:
        InputError: unreadable file, an unrecognisable name without options, or malformed content
            (names the line, the system and the column).
    """
    file = str(path)
    guessed = classify(path)
    table = table or (guessed[0] if guessed else None)
    precision = precision or (guessed[1] if guessed else None)
    if table not in (THROUGHPUT, BATCH) or precision not in PRECISIONS:
        raise InputError(
            file,
            "file name",
            "a name with 'throughput' or 'bs' and 'fp32' or 'fp16' (or the table and precision given explicitly)",
            repr(Path(path).name),
        )
    models, rows = _read_rows(path, table)
    name = Path(path).name
    chosen: dict[tuple[str, str, int], _Row] = {}
    skipped: list[str] = []
    group: dict[tuple[str, str, int], list[_Row]] = {}
    for row in rows:
        for col in models:
            if row.values[col] == 0:
                continue
            k = (col, row.gpu, row.count)
            group.setdefault(k, []).append(row)
            best = chosen.get(k)
            if best is None or _rank(row.system) < _rank(best.system):
                if best is not None:
                    skipped.append(best.name)
                chosen[k] = row
            else:
                skipped.append(row.name)
    zeros = sum(1 for r in rows for c in models if r.values[c] == 0)
    job_types: dict[str, JobType] = {}
    aliases: dict[str, set[str]] = {}
    for col in models:
        m = MODELS[col]
        figures: dict[tuple[str, int], Figure] = {}
        for (c, gpu, n), row in sorted(chosen.items()):
            if c != col:
                continue
            aliases.setdefault(gpu, set()).add(row.name)
            system = "Lambda" if row.system is None else row.system
            unit = m.unit if table == THROUGHPUT else "samples per step (all GPUs)"
            same = group[(c, gpu, n)]
            if table == THROUGHPUT and len(same) > 1:
                vals = sorted(r.values[col] for r in same)
                med = float(statistics.median(vals))
                lines = ", ".join(f"{r.line} ({r.name!r}: {_num(r.values[col])})" for r in same)
                hardware = (
                    f"{n} x {gpu_table.gpu_spec(gpu).name} in one server ({len(same)} systems: "
                    f"{', '.join(sorted({r.system or 'Lambda' for r in same}))})"
                )
                prov = Provenance(
                    MEASURED,
                    SOURCE.key,
                    f"{name} lines {lines}, column {col!r}: median of {len(same)} rows",
                    hardware,
                    _METHOD_T,
                )
                figures[(gpu, n)] = Figure(med, unit, prov)
                continue
            hardware = f"{n} x {gpu_table.gpu_spec(gpu).name} in one server ({system}; row {row.name!r})"
            prov = Provenance(
                MEASURED,
                SOURCE.key,
                f"{name} line {row.line} ({row.name!r}), column {col!r}",
                hardware,
                _METHOD_T if table == THROUGHPUT else _METHOD_B,
            )
            figures[(gpu, n)] = Figure(row.values[col], unit, prov)
        if not figures:
            continue
        key = job_key(col, precision)
        prec_text = (
            "FP32 (TF32 maths on Ampere/Hopper GPUs unless disabled)"
            if precision == "fp32"
            else "automatic mixed precision (FP16)"
        )
        job_types[key] = JobType(
            key=key,
            family=m.family,
            model=m.model,
            task=m.task,
            source=SOURCE.key,
            batch_size=None,
            precision=precision,
            unit=m.unit,
            description=(
                f"{m.model} ({m.task}), NVIDIA DeepLearningExamples implementation, {prec_text}, trained at "
                "the largest batch that fits each GPU type (see max_batch), as benchmarked by Lambda. "
                f"Throughput in {m.unit} for the whole system."
            ),
            throughput=figures if table == THROUGHPUT else {},
            max_batch=figures if table == BATCH else {},
        )
    notes = []
    if skipped and table == THROUGHPUT:
        medians = sum(1 for v in group.values() if len(v) > 1)
        notes.append(
            f"{name}: {medians} figures are medians over rows of several systems with the same GPU type and count"
        )
    elif skipped:
        systems = sorted({r.system or "Lambda" for r in rows if r.name in set(skipped)})
        notes.append(
            f"{name}: {len(skipped)} figures of other systems with the same GPU type and count not imported "
            f"(systems: {', '.join(systems)})"
        )
    if zeros:
        notes.append(f"{name}: {zeros} zero entries (no result) not imported")
    gpus = {g: gpu_table.gpu_spec(g, tuple(sorted(a))) for g, a in aliases.items()}
    sources = {SOURCE.key: SOURCE, **gpu_table.spec_sources(set(gpus))}
    return ImportResult(Catalogue(f"fragment:lambda-{table}-{precision}", sources, gpus, job_types), tuple(notes))


def merge_tables(throughput: ImportResult, batch: ImportResult) -> ImportResult:
    """One fragment from a throughput table and a batch-size table of the same precision: each job
    type gets its ``throughput`` from the first and its ``max_batch`` from the second."""
    jobs = dict(throughput.catalogue.job_types)
    for key, jt in batch.catalogue.job_types.items():
        jobs[key] = replace(jobs[key], max_batch=jt.max_batch) if key in jobs else jt
    specs = replace(throughput.catalogue, job_types={}).merge(replace(batch.catalogue, job_types={}))
    return ImportResult(replace(specs, job_types=jobs), throughput.notes + batch.notes)


def read_lambda(paths: list[str | Path], table: str | None = None, precision: str | None = None) -> ImportResult:
    """Read Lambda tables (any mix of throughput and bs files, fp32 and fp16) into one fragment;
    a throughput and a bs table of the same precision are combined per job type."""
    if not paths:
        raise ValueError("no Lambda files given")
    parts: dict[tuple[str, str], ImportResult] = {}
    for p in paths:
        guessed = classify(p)
        t = table or (guessed[0] if guessed else None)
        pr = precision or (guessed[1] if guessed else None)
        result = read_lambda_file(p, t, pr)
        assert t is not None and pr is not None
        if (t, pr) in parts:
            raise InputError(str(p), "file name", f"one {t} table for {pr}", "a second one")
        parts[(t, pr)] = result
    out: ImportResult | None = None
    for pr in PRECISIONS:
        t_part, b_part = parts.get((THROUGHPUT, pr)), parts.get((BATCH, pr))
        part = merge_tables(t_part, b_part) if t_part and b_part else t_part or b_part
        if part is None:
            continue
        if out is None:
            out = part
        else:
            out = ImportResult(out.catalogue.merge(part.catalogue), out.notes + part.notes)
    assert out is not None
    return ImportResult(replace(out.catalogue, version="fragment:lambda"), out.notes)


def find_tables(directory: str | Path) -> list[Path]:
    """The four Lambda tables in ``directory`` (shared or upstream names); InputError if one is missing."""
    d = Path(directory)
    found = []
    for t in (THROUGHPUT, BATCH):
        for pr in PRECISIONS:
            candidates = [d / f"lambda_pytorch_train_{t}_{pr}.csv", d / f"pytorch-train-{t}-{pr}.csv"]
            path = next((c for c in candidates if c.is_file()), None)
            if path is None:
                raise InputError(
                    str(d), "$", f"a Lambda table {candidates[0].name} or {candidates[1].name}", "no such file"
                )
            found.append(path)
    return found
