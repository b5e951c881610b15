#!/usr/bin/env bash
# Run every test file in its own pytest process, so that no test passes only because another file
# ran first in the same interpreter (process-wide state: HiGHS's task scheduler, module caches,
# environment variables, registries). Exit status: 0 when every file passes (or only skips), else 1;
# the failing files are listed at the end.
#
# Usage: tools/run_tests_isolated.sh [pytest args...]      e.g.  tools/run_tests_isolated.sh -x -q
#        FILES="tests/test_a.py tests/test_b.py" tools/run_tests_isolated.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
FILES=${FILES:-$(ls tests/test_*.py tests/*/test_*.py 2>/dev/null)}
failed=()
start=$SECONDS
for f in $FILES; do
  t0=$SECONDS
  "$PY" -m pytest -p no:cacheprovider -q "$@" "$f" >"${TMPDIR:-/tmp}/isolated.$$.log" 2>&1
  rc=$?
  # 5: no tests collected (e.g. everything skipped at import) is not a failure
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then
    failed+=("$f")
    echo "FAIL $f (exit $rc, $((SECONDS - t0)) s)"
    tail -n 30 "${TMPDIR:-/tmp}/isolated.$$.log"
  else
    summary=$(grep -E "passed|failed|skipped|no tests ran|error" "${TMPDIR:-/tmp}/isolated.$$.log" | tail -n 1)
    echo "ok   $f ($((SECONDS - t0)) s): ${summary:-$(tail -n 1 "${TMPDIR:-/tmp}/isolated.$$.log")}"
  fi
done
rm -f "${TMPDIR:-/tmp}/isolated.$$.log"
echo "$(echo $FILES | wc -w) files in $((SECONDS - start)) s; ${#failed[@]} failed"
if [ "${#failed[@]}" -ne 0 ]; then
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
