# Shared setup of the real-model checks (sourced, not run). Before sourcing, set NAME (the
# script's name for messages); it then parses "EDGEPIPE_BINARY [WORK_DIR]", checks the
# binary, makes WORK (kept when given, else a temp dir removed on exit) and defines
# prepare CMD..., which runs a set-up script and turns its "could not download" (exit 3)
# into a skip (exit 77): offline machines skip, a wrong hash or broken install fails.
# Sets REPO_ROOT, ORT_DIR, MODELS, EDGEPIPE, WORK, kSkip.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ORT_DIR="$REPO_ROOT/tools/ort"
MODELS="$REPO_ROOT/models"
kSkip=77

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 EDGEPIPE_BINARY [WORK_DIR]" >&2
  exit 2
fi
EDGEPIPE="$1"
[ -x "$EDGEPIPE" ] || { echo "$NAME: $EDGEPIPE is not an executable" >&2; exit 1; }

if [ $# -eq 2 ]; then
  WORK="$2"
  rm -rf "$WORK"
  mkdir -p "$WORK"
else
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
fi

prepare() {
  local rc=0
  "$@" || rc=$?
  if [ "$rc" -eq 3 ]; then
    echo "$NAME: SKIP: $1 could not get what it needs"
    exit "$kSkip"
  fi
  [ "$rc" -eq 0 ] || exit 1
}
