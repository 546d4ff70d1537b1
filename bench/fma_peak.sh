#!/usr/bin/env bash
# One core's arithmetic peaks (bench/fma_peak.cc: f32 FMA at 256 and 512 bits, int8 VNNI where the CPU has them): the ceilings for a kernel's rate.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${TMPDIR:-/tmp}/edgepipe_fma_peak"
g++ -O3 -march=native "$REPO_ROOT/bench/fma_peak.cc" -o "$OUT"
"$OUT"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
