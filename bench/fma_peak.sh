#!/usr/bin/env bash
# One core's f32 FMA peak (bench/fma_peak.cc): the ceiling for a convolution's GFLOP/s.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${TMPDIR:-/tmp}/edgepipe_fma_peak"
g++ -O3 -mavx2 -mfma "$REPO_ROOT/bench/fma_peak.cc" -o "$OUT"
"$OUT"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
