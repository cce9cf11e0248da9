# shellcheck shell=bash
# Shared by installer/run.sh and installer/test.sh: source it, don't run it.
#
# Makes .venv in the repo root (if missing) and installs torch, then the project, into it.
# A stamp file in .venv skips the installs when nothing changed since the last one;
# delete .venv/.studio-installed-* (or the whole .venv) to force them.
#
# Settings (environment variables):
#   PYTHON        the Python that creates the venv (default: python3, else python); 3.10+
#   STUDIO_TORCH  the torch requirement installed before the project (default: torch==2.13.0).
#                 It goes in first on purpose: a plain `torch` requirement can pull a CUDA
#                 build of several GB where a CPU build would do.

set -euo pipefail

STUDIO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STUDIO_TORCH=${STUDIO_TORCH:-torch==2.13.0}
VENV="$STUDIO_ROOT/.venv"

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }

# `timed NAME CMD...` runs CMD and prints how long it took; returns CMD's exit code.
timed() {
  local name=$1 start rc=0
  shift
  start=$(date +%s)
  "$@" || rc=$?
  printf -- '--- %s: %ss (exit %s)\n' "$name" "$(( $(date +%s) - start ))" "$rc"
  return "$rc"
}

venv_bin() {
  if [ -d "$VENV/Scripts" ] && [ ! -d "$VENV/bin" ]; then
    echo "$VENV/Scripts"  # Windows (Git Bash)
  else
    echo "$VENV/bin"
  fi
}

_find_python() {
  local py
  for py in ${PYTHON:-python3 python}; do
    if command -v "$py" >/dev/null 2>&1 \
      && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$py"
      return 0
    fi
  done
  die "Python 3.10 or newer not found (tried: ${PYTHON:-python3 python}). Install it, or set PYTHON=/path/to/python3."
}

_make_venv() {
  local py
  if [ -d "$VENV" ] && "$(venv_bin)/python" -c '' >/dev/null 2>&1; then
    say "Using the virtual environment $VENV"
    return 0
  fi
  if [ -d "$VENV" ]; then
    say "$VENV is broken (its python does not run): making it again"
    rm -rf "$VENV"
  fi
  py=$(_find_python) || exit 1
  say "Creating the virtual environment $VENV with $py ($("$py" --version 2>&1))"
  "$py" -m venv "$VENV" || die "could not create $VENV (on Debian/Ubuntu: apt-get install python3-venv)"
  # Editable installs from pyproject.toml need pip 21.3+; the pip that ships with 3.10.0 is older.
  if ! "$(venv_bin)/python" -c 'import sys, pip; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (23, 0))'; then
    say "Upgrading pip in the venv"
    "$(venv_bin)/python" -m pip install --upgrade pip || die "could not upgrade pip in $VENV"
  fi
}

# True when stamp file $1 exists, is newer than what decides the install, and the install
# it stands for is still there (the studio command in venv bin folder $2).
_stamp_fresh() {
  [ -f "$1" ] && [ "$1" -nt pyproject.toml ] && [ "$1" -nt installer/common.sh ] \
    && { [ -e "$2/studio" ] || [ -e "$2/studio.exe" ]; }
}

# ensure_installed [test]: venv + torch + the project (with the test extra when asked).
ensure_installed() {
  local extra=${1:-} bin stamp target
  cd "$STUDIO_ROOT"
  timed "venv" _make_venv
  bin=$(venv_bin)
  if [ -n "$extra" ]; then
    target=".[$extra]"
    stamp="$VENV/.studio-installed-$extra"
  else
    target="."
    stamp="$VENV/.studio-installed-base"
  fi
  # A test install is also a full base install, so its stamp will do for run.sh.
  local s candidates=("$stamp")
  [ -z "$extra" ] && candidates+=("$VENV/.studio-installed-test")
  for s in "${candidates[@]}"; do
    if _stamp_fresh "$s" "$bin"; then
      say "Dependencies are up to date (installed after pyproject.toml last changed; delete $s to reinstall)"
      return 0
    fi
  done

  say "Installing $STUDIO_TORCH (first, so that pip does not pick a multi-GB CUDA build)"
  timed "install torch" "$bin/python" -m pip install "$STUDIO_TORCH" \
    || die "pip install $STUDIO_TORCH failed"
  say "Installing Studio in editable mode: pip install -e '$target'"
  timed "install project" "$bin/python" -m pip install -e "$target" \
    || die "pip install -e '$target' failed"
  touch "$stamp"
  [ -n "$extra" ] && touch "$VENV/.studio-installed-base"
  return 0
}
