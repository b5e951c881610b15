"""Where suites, example campaigns and the suite cache live.

* **Bundled** suite manifests, lock files and the smoke instances ship with the package as the data
  package ``schedbench.suites.manifests``; the example campaigns as ``schedbench.suites.campaigns``.
  In the source tree they are the top-level ``instances/`` and ``campaigns/`` folders (mapped by
  ``[tool.setuptools] package-dir`` in ``pyproject.toml``), so a checkout, an editable install and a
  wheel read the same files, found with :mod:`importlib.resources`.
* A **local** folder of manifests adds suites or overrides bundled ones of the same name: the
  ``--dir``/``--instances-dir`` option, else ``$SCHEDBENCH_INSTANCES_DIR``, else ``./instances`` of
  the current directory when it exists.
* The **cache** (suites materialised for campaigns and ``suite build``) is ``--cache-dir``, else
  ``$SCHEDBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/schedbench``, else ``~/.cache/schedbench``.

Suite and campaign names are plain file stems (:func:`check_name`): a name cannot reach outside
its folder.
"""

from __future__ import annotations

import hashlib
import os
import re
from importlib import resources
from pathlib import Path

from schedbench.errors import InputError, UsageError

#: The data packages that hold the bundled manifests and campaigns.
MANIFESTS_PACKAGE = "schedbench.suites.manifests"
CAMPAIGNS_PACKAGE = "schedbench.suites.campaigns"
#: Environment variables: a local manifest folder, and the cache root.
INSTANCES_ENV = "SCHEDBENCH_INSTANCES_DIR"
CACHE_ENV = "SCHEDBENCH_CACHE_DIR"

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def check_name(name: str, what: str = "suite") -> str:
    """``name`` unchanged when it is a plain name (letters, digits, ``.``, ``_``, ``-``, not starting
    with ``.``), so ``<folder>/<name>.toml`` stays inside its folder.

    Raises:
        UsageError: a path (``../x``, ``/abs``, ``a/b``), an empty or hidden name (exit 2 in the CLI).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsageError(
            f"{what} name {name!r} is not a plain name: letters, digits, '.', '_' and '-' only, not "
            "starting with '.' (a name cannot be a path)"
        )
    return name


def _package_dir(package: str) -> Path:
    """The folder of a bundled data package (installed wheels and checkouts are plain folders).

    Raises:
        InputError: the package is not installed (an editable install older than the data packages:
            run ``pip install -e .`` again) or is zipped.
    """
    try:
        folder = resources.files(package)
    except ModuleNotFoundError:
        raise InputError(
            package,
            "$",
            "the bundled data package (installed with schedbench; an editable install "
            "made before it existed needs `pip install -e .` again)",
            "not installed",
        ) from None
    if not isinstance(folder, Path):  # a zipped install: the data has no folder to build from
        raise InputError(
            str(folder),
            "$",
            f"the bundled data {package} as a folder on disk (install schedbench unzipped, as pip does)",
            "a zipped install",
        )
    return folder


def bundled_dir() -> Path:
    """The folder of the bundled suite manifests (``instances/`` in the source tree)."""
    return _package_dir(MANIFESTS_PACKAGE)


def bundled_campaigns_dir() -> Path:
    """The folder of the bundled example campaigns (``campaigns/`` in the source tree)."""
    return _package_dir(CAMPAIGNS_PACKAGE)


def local_dir(directory: str | Path | None = None) -> Path | None:
    """The local manifest folder (absolute): ``directory``, else ``$SCHEDBENCH_INSTANCES_DIR``, else
    ``./instances`` when it is a folder; None when there is none.

    Raises:
        InputError: ``directory`` or the variable names no folder.
    """
    given = directory if directory is not None else os.environ.get(INSTANCES_ENV) or None
    if given is not None:
        folder = Path(given).absolute()
        if not folder.is_dir():
            source = "the suite folder" if directory is not None else f"${INSTANCES_ENV}"
            raise InputError(str(folder), "$", f"a folder of suite manifests ({source})", "no such folder")
        return folder
    here = Path("instances").absolute()
    return here if here.is_dir() else None


def search_path(directory: str | Path | None = None) -> list[Path]:
    """The manifest folders, highest priority first: the local one (:func:`local_dir`), then the
    bundled one; a local folder that is the bundled one (a checkout's ``instances/``) counts once."""
    bundled = bundled_dir()
    local = local_dir(directory)
    if local is None or local.resolve() == bundled.resolve():
        return [bundled]
    return [local, bundled]


def cache_dir(directory: str | Path | None = None) -> Path:
    """The cache root: ``directory``, else ``$SCHEDBENCH_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/schedbench``, else ``~/.cache/schedbench``. Not created here."""
    if directory is not None:
        return Path(directory)
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "schedbench"


def suite_cache(name: str, manifest: Path, cache: str | Path | None = None) -> Path:
    """Where suite ``name`` (read from ``manifest``) is materialised: ``<cache>/suites/<name>`` for
    a bundled suite, ``<cache>/suites/<name>-<digest of the manifest's path>`` for a local one, so a
    local override never shares files with the bundled suite of the same name."""
    root = cache_dir(cache) / "suites"
    if manifest.parent.resolve() == bundled_dir().resolve():
        return root / check_name(name)
    digest = hashlib.sha256(str(manifest.resolve()).encode()).hexdigest()[:10]
    return root / f"{check_name(name)}-{digest}"


def find_campaign(spec: str | Path) -> Path | None:
    """The bundled example campaign that ``spec`` names when ``spec`` is no existing file:
    ``NAME``, ``NAME.toml`` or ``campaigns/NAME.toml``; None when it names none (or is a file)."""
    path = Path(spec)
    if path.exists():
        return None
    if len(path.parts) == 2 and path.parts[0] == "campaigns":
        path = Path(path.parts[1])
    if len(path.parts) != 1:
        return None
    stem = path.name.removesuffix(".toml")
    if not is_plain_name(stem):
        return None
    candidate = bundled_campaigns_dir() / f"{stem}.toml"
    return candidate if candidate.is_file() else None


def is_plain_name(name: str) -> bool:
    """Whether ``name`` passes :func:`check_name`."""
    return bool(_NAME.fullmatch(name))


def list_campaigns() -> list[str]:
    """The names of the bundled example campaigns."""
    return sorted(p.stem for p in bundled_campaigns_dir().glob("*.toml"))
