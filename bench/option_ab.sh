#!/usr/bin/env bash
# One `edgepipe bench` option at two values, per model: fresh processes alternated (A, B,
# A, B, ...), medians of the per-process p50s, and the ratio B / A.
#   bench/option_ab.sh --option NAME --a VALUE --b VALUE [--models "det yolov5s resnet50"]
#                      [--rounds 5] [--threads 1] [--iterations 10] [--edgepipe build/edgepipe]
# Model keys as in bench/models.sh. bench/conv_algorithm.sh and bench/blocked_layout.sh call it.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/models.sh
rounds=5 threads=1 iterations=10 bin=build/edgepipe option="" va="" vb="" models="det yolov5s resnet50"
while [ $# -gt 0 ]; do
  case "$1" in
    --option) option=$2; shift 2 ;;
    --a) va=$2; shift 2 ;;
    --b) vb=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --edgepipe) bin=$2; shift 2 ;;
    *) echo "option_ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$option" ] && [ -n "$va" ] && [ -n "$vb" ] || { echo "option_ab.sh: --option, --a and --b are required" >&2; exit 2; }
p50() { "$bin" bench "$@" --threads "$threads" --warmup 3 --iterations "$iterations" --json | sed 's/.*"p50_ms":\([0-9.e-]*\).*/\1/'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '| model | threads | %s %s p50 ms | %s %s p50 ms | ratio |\n|---|---:|---:|---:|---:|\n' "$option" "$va" "$option" "$vb"
for key in $models; do
  read -r file input shape <<<"$(model_spec "$key")" || { echo "option_ab.sh: unknown model '$key'" >&2; exit 2; }
  model=models/$file
  [ -f "$model" ] || { echo "option_ab.sh: $model missing (make models torch-models)" >&2; exit 3; }
  a=() b=()
  for r in $(seq 1 "$rounds"); do
    a+=("$(p50 "$model" --shape "$input=$shape" "--$option" "$va")")
    b+=("$(p50 "$model" --shape "$input=$shape" "--$option" "$vb")")
  done
  ma=$(median "${a[@]}") mb=$(median "${b[@]}")
  printf '| %s | %s | %.1f | %.1f | %.2f |\n' "$key" "$threads" "$ma" "$mb" "$(awk -v a="$ma" -v b="$mb" 'BEGIN {print b / a}')"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(git rev-parse --short HEAD 2>/dev/null)"
