#!/usr/bin/env bash
# Exports the random-weight torchvision classifiers and YOLO-shaped detectors
# (scripts/export-models.py) into models/ at the repo root (git-ignored).
# Installs Debian's python3-torch and python3-torchvision when missing (sudo
# when not root, like scripts/install-deps.sh). Idempotent: models already
# present are skipped.
# Usage: scripts/export-models.sh [DEST_DIR]   (default: <repo>/models)
# Exit status: 0 ok, 1 export failed, 3 torch unavailable and cannot be installed.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$REPO_ROOT/models}"
# Debian's torch is built for the system interpreter, not whatever python3 is first on PATH.
PYTHON=/usr/bin/python3
PACKAGES=(python3-torch python3-torchvision)
MODELS=(resnet50.onnx mobilenet_v2.onnx mobilenet_v3_large.onnx yolov5s.onnx yolov8n.onnx)

all_present=1
for m in "${MODELS[@]}"; do
  [ -f "$DEST/$m" ] || all_present=0
done
# Nothing to do: do not even require torch (a machine may have the models but not torch).
[ "$all_present" -eq 0 ] || exit 0

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  # Without a terminal (CTest), sudo must not wait for a password: fail, and skip.
  if [ "$(id -u)" -ne 0 ]; then
    if [ -t 0 ]; then SUDO="sudo"; else SUDO="sudo -n"; fi
  fi
  echo "export-models: installing ${missing[*]} (about 270 packages with dependencies)"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "export-models: ERROR: could not install ${missing[*]} (is the Debian mirror reachable?)" >&2
    exit 3
  fi
fi
"$PYTHON" -c 'import torch, torchvision' 2>/dev/null || {
  echo "export-models: ERROR: $PYTHON cannot import torch and torchvision" >&2
  exit 3
}
"$PYTHON" "$REPO_ROOT/scripts/export-models.py" "$DEST"
