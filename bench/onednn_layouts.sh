#!/usr/bin/env bash
# oneDNN's convolution time on NHWC against its blocked layout, layer shapes of the benchmark
# models, one thread (see bench/onednn_layouts.cc). Needs libdnnl-dev (make deps).
#   bench/onednn_layouts.sh [RUNS]    (default 15 runs per layer and layout, medians)
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${TMPDIR:-/tmp}/edgepipe_onednn_layouts"
g++ -O2 -std=c++17 "$REPO_ROOT/bench/onednn_layouts.cc" -ldnnl -o "$OUT"
OMP_NUM_THREADS=1 "$OUT" "${1:-15}"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
