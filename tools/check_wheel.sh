#!/usr/bin/env bash
# Does schedbench work from an installed wheel, away from the source tree?
#
# Builds the wheel from a copy of the working tree's sources (tracked and untracked, not ignored files,
# so no stale build/ output ends up in it), installs it NOT editable in a fresh venv (the core dependencies
# only, from the configured package index) and, from an empty temporary directory with the user cache
# pointed into the temporary tree, runs
#   schedbench suite list                                        must list the bundled suites (smoke among them)
#   schedbench run --suite smoke --solver greedy-bestfit         the smoke suite, built into the user cache
#   schedbench solvers test ilp-highs                            the plugin contract tests on the smoke instances
# and checks that the suite was built in the cache directory, not in the current one.
# Exits non-zero on the first failure; prints the wall time. Usage: bash tools/check_wheel.sh [PYTHON]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${1:-python3}"
start=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/schedbench-wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT

step() { echo "check_wheel: $* ($((SECONDS - start)) s)"; }

mkdir -p "$work/src" "$work/dist" "$work/empty"
# what the wheel is built from: pyproject.toml's packages and package-dir folders (update with them)
sources=(pyproject.toml README.md schedbench solvers instances campaigns)
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard -- "${sources[@]}" \
    | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$work/src"
else
  (cd "$root" && cp -a "${sources[@]}" "$work/src/")
fi
"$python" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --quiet --disable-pip-version-check)
"${pip[@]}" wheel --no-deps --wheel-dir "$work/dist" "$work/src" 2>"$work/wheel.log" \
  || { cat "$work/wheel.log" >&2; exit 1; }
wheel=("$work"/dist/schedbench-*.whl)
step "built ${wheel[0]##*/}"
"${pip[@]}" install --no-compile "${wheel[0]}" 2>"$work/install.log" || { cat "$work/install.log" >&2; exit 1; }
step "installed in a fresh venv"

bin="$work/venv/bin"
cd "$work/empty"
# a clean environment for the checks: no local manifests, the XDG cache inside the temporary tree
unset SCHEDBENCH_INSTANCES_DIR SCHEDBENCH_CACHE_DIR
export XDG_CACHE_HOME="$work/xdg-cache" COLUMNS=200

# the installed package, not the source tree, must answer
"$bin/python" - "$root" <<'EOF'
import sys
from pathlib import Path

import schedbench
from schedbench.suites import bundled_campaigns_dir, bundled_dir

root = Path(sys.argv[1]).resolve()
for where in (Path(schedbench.__file__), bundled_dir(), bundled_campaigns_dir()):
    if where.resolve().is_relative_to(root):
        sys.exit(f"check_wheel: {where} is in the source tree, not the installed wheel")
wanted = [bundled_dir() / "smoke.toml", bundled_dir() / "smoke.lock", bundled_dir() / "smoke" / "online-jct-s0.json",
          bundled_campaigns_dir() / "smoke.toml"]
missing = [str(p) for p in wanted if not p.is_file()]
if missing:
    sys.exit(f"check_wheel: the wheel lacks bundled data: {missing}")
EOF

listing="$("$bin/schedbench" suite list)"
echo "$listing"
grep -q "smoke" <<<"$listing" || { echo "check_wheel: 'suite list' does not list the smoke suite" >&2; exit 1; }
step "suite list"

"$bin/schedbench" run --suite smoke --solver greedy-bestfit --quiet
ls "$XDG_CACHE_HOME/schedbench/suites/smoke/"*.json >/dev/null \
  || { echo "check_wheel: the smoke suite was not built in \$XDG_CACHE_HOME/schedbench" >&2; exit 1; }
if [ -e .cache ]; then echo "check_wheel: a ./.cache appeared in the current directory" >&2; exit 1; fi
step "run --suite smoke --solver greedy-bestfit"

"$bin/schedbench" solvers test ilp-highs
step "solvers test ilp-highs; all checks passed"
