#!/usr/bin/env bash
# Winograd against oneDNN's direct kernels for fp32 3x3 stride-1 convolutions, per model:
# `edgepipe bench --conv-algorithm auto` and `--conv-algorithm direct` alternated in fresh
# processes, medians of the per-process p50s, and the ratio.
#   bench/conv_algorithm.sh [--rounds 5] [--threads 1] [--iterations 10] [--edgepipe build/edgepipe]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5 threads=1 iterations=10 bin=build/edgepipe
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --edgepipe) bin=$2; shift 2 ;;
    *) echo "conv_algorithm.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
p50() { "$bin" bench "$@" --threads "$threads" --warmup 3 --iterations "$iterations" --json | sed 's/.*"p50_ms":\([0-9.e-]*\).*/\1/'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '| model | threads | direct p50 ms | Winograd p50 ms | ratio |\n|---|---:|---:|---:|---:|\n'
for spec in "ch_PP-OCRv4_det_infer.onnx x=1x3x640x640" "yolov5s.onnx images=1x3x640x640" "resnet50.onnx input=1x3x224x224"; do
  set -- $spec
  model=models/$1 shape=$2
  [ -f "$model" ] || { echo "conv_algorithm.sh: $model missing (make models)" >&2; exit 3; }
  a=() d=()
  for r in $(seq 1 "$rounds"); do
    d+=("$(p50 "$model" --shape "$shape" --conv-algorithm direct)")
    a+=("$(p50 "$model" --shape "$shape" --conv-algorithm auto)")
  done
  md=$(median "${d[@]}") ma=$(median "${a[@]}")
  printf '| %s | %s | %.1f | %.1f | %.2f |\n' "$1" "$threads" "$md" "$ma" "$(awk -v a="$ma" -v d="$md" 'BEGIN {print a / d}')"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $(git rev-parse --short HEAD 2>/dev/null)"
