#!/usr/bin/env bash
# Sets up Studio (a .venv in the repo root with torch and the project) and launches it.
# Works from any folder; arguments go to the `studio` command, e.g.
#   bash installer/run.sh generate --model models/sd15 --prompt "a fox" --out fox.png
# Relative paths in the arguments are taken from the folder you run this from.
set -euo pipefail
here=$PWD
# shellcheck source=installer/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Setup talks on stderr, so that stdout is Studio's alone (e.g. for `studio generate`).
ensure_installed "" >&2  # no extra: the app alone
studio_bin="$(venv_bin)/studio"
cd "$here"
say "Launching Studio: $studio_bin $*" >&2
exec "$studio_bin" "$@"
