"""Strict JSON reading and canonical JSON writing.

Reading is for untrusted files: JSON only (never pickle or eval), optional gzip (detected by its
magic bytes), a cap on the compressed and the decompressed size, no ``NaN``/``Infinity``, no
duplicate keys. Every failure is an :class:`~schedbench.errors.InputError` naming the file.

Writing is canonical: sorted keys, no whitespace, UTF-8, and numbers formatted by
:func:`canonical_number` so that a value reads back and writes out byte-identically whether it
was an ``int``, a ``float`` or a numpy scalar. The sha256 of those bytes identifies a document.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from schedbench.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
#: Largest file read from disk, compressed or not (bytes). Override with SCHEDBENCH_MAX_FILE_BYTES.
MAX_FILE_BYTES = int(os.environ.get("SCHEDBENCH_MAX_FILE_BYTES", 1 << 30))
#: Largest decompressed JSON text (bytes). Override with SCHEDBENCH_MAX_JSON_BYTES.
MAX_JSON_BYTES = int(os.environ.get("SCHEDBENCH_MAX_JSON_BYTES", 4 << 30))
#: Integers up to this magnitude are written without a fraction; floats beyond it keep repr form.
_EXACT_INT = 2**53
#: The process's umask (read once: os.umask can only be read by setting it), for files write_bytes makes.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class _DuplicateKey(Exception):  # noqa: N818 (internal signal, not an error type)
    def __init__(self, key: str) -> None:
        self.key = key


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not JSON")


class DuplicateKeysDict(dict):
    """A dict parsed from a JSON object that repeated keys; ``duplicates`` lists them (the last
    value of each repeated key is kept, as JSON parsers usually do)."""

    duplicates: list[str]


def _pairs_record_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    rec = DuplicateKeysDict(pairs)
    seen: set[str] = set()
    rec.duplicates = []
    for key, _ in pairs:
        if key in seen:
            rec.duplicates.append(key)
        seen.add(key)
    return rec


def _pairs_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def read_bytes(path: str | Path, *, max_bytes: int | None = None) -> bytes:
    """Read a file, decompressing gzip, under the size caps. Raises InputError on any failure."""
    name = str(path)
    cap_file = MAX_FILE_BYTES if max_bytes is None else max_bytes
    cap_json = MAX_JSON_BYTES if max_bytes is None else max_bytes
    try:
        size = os.stat(path).st_size
        if size > cap_file:
            raise InputError(name, "$", f"a file of at most {cap_file} bytes", f"{size} bytes")
        with open(path, "rb") as handle:
            # in chunks, not read(cap + 1): that allocates the whole cap first (a MemoryError
            # under a run's memory limit for a solution file of a few bytes)
            parts, got = [], 0
            while got <= cap_file:
                part = handle.read(min(1 << 20, cap_file + 1 - got))
                if not part:
                    break
                parts.append(part)
                got += len(part)
            raw = b"".join(parts)
    except FileNotFoundError:
        raise InputError(name, "$", "an existing file", "no such file") from None
    except IsADirectoryError:
        raise InputError(name, "$", "a file", "a directory") from None
    except PermissionError:
        raise InputError(name, "$", "a readable file", "permission denied") from None
    except OSError as exc:
        raise InputError(name, "$", "a readable file", str(exc)) from None
    if raw[:2] == GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
                raw = stream.read(cap_json + 1)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(name, "$", "a valid gzip stream", f"corrupt gzip data ({exc})") from None
        if len(raw) > cap_json:
            raise InputError(name, "$", f"at most {cap_json} bytes once decompressed", "more than that")
    return raw


def loads(data: bytes | str, name: str = "<string>", *, duplicates: str = "error") -> Any:
    """Parse JSON text strictly. Raises InputError naming ``name`` on any failure.

    ``duplicates``: ``"error"`` refuses repeated keys in an object; ``"record"`` returns such
    objects as :class:`DuplicateKeysDict` so that a validator can report them.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(name, "$", "UTF-8 encoded JSON", f"invalid byte at offset {exc.start}") from None
    else:
        text = data
    if text.startswith("\ufeff"):
        text = text[1:]
    # The cyclic GC would rescan the growing tree of containers many times while a large
    # document is built (JSON cannot hold cycles): pause it for the parse.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            object_pairs_hook=_pairs_no_duplicates if duplicates == "error" else _pairs_record_duplicates,
        )
    except _DuplicateKey as exc:
        raise InputError(name, "$", "unique keys in every object", f"duplicate key {exc.key!r}") from None
    except json.JSONDecodeError as exc:
        raise InputError(name, f"line {exc.lineno} column {exc.colno}", "valid JSON", exc.msg) from None
    except ValueError as exc:
        raise InputError(name, "$", "valid JSON", str(exc)) from None
    except RecursionError:
        raise InputError(name, "$", "JSON nested at most a few hundred levels deep", "deeper nesting") from None
    finally:
        if gc_was_enabled:
            gc.enable()


def load(path: str | Path, *, duplicates: str = "error") -> Any:
    """Read and parse a JSON (or gzipped JSON) file strictly (see :func:`loads`)."""
    return loads(read_bytes(path), str(path), duplicates=duplicates)


def canonical_number(value: float | int | np.integer | np.floating) -> int | float:
    """The canonical form of a finite number: an int when integral (|x| < 2**53), else a float."""
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(value, (int, np.integer)):
        return int(value)
    f = float(value)
    if not math.isfinite(f):
        raise ValueError(f"non-finite number {f!r} cannot be written as JSON")
    if f.is_integer() and abs(f) < _EXACT_INT:
        return int(f)
    return f


def canonical_list(values: np.ndarray | list[Any]) -> list[Any]:
    """A 1-D array as a list of canonical numbers, with NaN (missing) written as null.

    Vectorised: integral entries are converted as a block, the rest keep their shortest repr.
    """
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr.tolist()
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64).tolist()
    if arr.dtype.kind != "f":
        return [None if v is None else canonical_number(v) for v in arr.tolist()]
    arr = arr.astype(np.float64)
    if np.isinf(arr).any():
        raise ValueError("infinite numbers cannot be written as JSON")
    nan = np.isnan(arr)
    integral = (~nan) & (np.abs(arr) < _EXACT_INT) & (arr == np.round(arr))
    if integral.all():
        return arr.astype(np.int64).tolist()
    if not integral.any() and not nan.any():
        return arr.tolist()
    out = arr.astype(object)  # Python floats
    if integral.any():
        out[integral] = arr[integral].astype(np.int64).astype(object)  # Python ints
    if nan.any():
        out[nan] = None
    return out.tolist()


def normalise(obj: Any) -> Any:
    """A JSON-ready copy of ``obj`` with canonical numbers (numpy arrays and scalars converted)."""
    return _normalise(obj)


def _normalise(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _normalise(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_normalise(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.ndim == 1:
            return canonical_list(obj)
        return [_normalise(row) for row in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, float, np.integer, np.floating)):
        return canonical_number(obj)
    return obj


def dumps_canonical(obj: Any, *, normalised: bool = False) -> bytes:
    """Canonical UTF-8 JSON bytes: sorted keys, compact separators, canonical numbers.

    ``normalised=True`` skips the numeric normalisation walk, for documents whose numbers are
    already canonical (built with :func:`canonical_list` / :func:`normalise`); it is what makes
    writing million-job instances fast.
    """
    text = json.dumps(
        obj if normalised else _normalise(obj),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def write_bytes(path: str | Path, data: bytes, *, compress: bool | None = None) -> None:
    """Write bytes atomically (a temporary file with a unique name in the same folder, then
    ``os.replace``: concurrent writers of one path never collide, readers see the old or the new
    file); gzip them (reproducibly: mtime 0, no name) when ``compress`` or when the path ends in
    ``.gz``."""
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
            gz.write(data)
        data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; keep the usual mode of a new file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
