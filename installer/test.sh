#!/usr/bin/env bash
# Sets up the test environment (.venv in the repo root with torch and the project's `test`
# extra) and runs, from the repo root: ruff check ., lint-imports (the import contracts in
# pyproject.toml) and pytest. Arguments go to pytest, e.g. bash installer/test.sh -k canvas -x
# All three always run; the exit code is non-zero if any failed, or if pytest ran no test.
set -euo pipefail
# shellcheck source=installer/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ensure_installed test
bin=$(venv_bin)

# As if the venv were activated, so tests that start `studio` or `python` get the venv's.
export VIRTUAL_ENV="$VENV"
export PATH="$bin:$PATH"
# Tests never reach a model hub, and Qt draws offscreen unless a test starts Xvfb itself.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export QT_QPA_PLATFORM=offscreen

results=()
failed=0
check() {
  local name=$1 rc=0 start
  shift
  say "$name: $*"
  start=$(date +%s)
  "$@" || rc=$?
  local took=$(( $(date +%s) - start ))
  local verdict=ok
  if [ "$rc" -eq 5 ] && [ "$name" = pytest ]; then
    verdict="FAILED (pytest collected no tests, exit 5)"
  elif [ "$rc" -ne 0 ]; then
    verdict="FAILED (exit $rc)"
  fi
  [ "$verdict" = ok ] || failed=1
  results+=("$(printf '%-13s %-45s %5ss' "$name" "$verdict" "$took")")
  printf -- '--- %s: %ss (exit %s)\n' "$name" "$took" "$rc"
}

check ruff "$bin/ruff" check .
check ruff-format "$bin/ruff" format --check .
check lint-imports "$bin/lint-imports"
check pytest "$bin/pytest" "$@"

say "Summary"
printf '  %s\n' "${results[@]}"
if [ "$failed" -ne 0 ]; then
  echo "installer/test.sh: FAILED"
  exit 1
fi
echo "installer/test.sh: all checks passed"
