#!/usr/bin/env bash
# Two edgepipe builds on the same models (before and after a change): fresh processes
# alternated (A, B, A, B, ...), medians of the per-process p50s, and the ratio B / A.
#   bench/build_ab.sh --a BIN --b BIN [--models "det yolov5s resnet50"] [--rounds 5]
#                     [--threads 1] [--iterations 10]
# Keep a copy of the old binary first, e.g. `cp build/edgepipe /tmp/edgepipe-before`.
# Model keys as in bench/models.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/models.sh
a_bin="" b_bin="" models="det yolov5s resnet50" rounds=5 threads=1 iterations=10
while [ $# -gt 0 ]; do
  case "$1" in
    --a) a_bin=$2; shift 2 ;;
    --b) b_bin=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    *) echo "build_ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$a_bin" ] && [ -x "$b_bin" ] || { echo "build_ab.sh: --a and --b must name edgepipe binaries" >&2; exit 2; }
p50() { local bin=$1; shift; "$bin" bench "$@" --threads "$threads" --warmup 3 --iterations "$iterations" --json | sed 's/.*"p50_ms":\([0-9.e-]*\).*/\1/'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '| model | threads | A p50 ms | B p50 ms | B / A (per-round range) |\n|---|---:|---:|---:|---|\n'
for key in $models; do
  read -r file input shape <<<"$(model_spec "$key")" || { echo "build_ab.sh: unknown model '$key'" >&2; exit 2; }
  model=models/$file
  [ -f "$model" ] || { echo "build_ab.sh: $model missing (make models torch-models)" >&2; exit 3; }
  a=() b=() q=()
  for r in $(seq 1 "$rounds"); do
    a+=("$(p50 "$a_bin" "$model" --shape "$input=$shape")")
    b+=("$(p50 "$b_bin" "$model" --shape "$input=$shape")")
    q+=("$(awk -v a="${a[-1]}" -v b="${b[-1]}" 'BEGIN {print b / a}')")
  done
  ma=$(median "${a[@]}") mb=$(median "${b[@]}")
  lo=$(printf '%s\n' "${q[@]}" | sort -g | head -1) hi=$(printf '%s\n' "${q[@]}" | sort -g | tail -1)
  printf '| %s | %s | %.1f | %.1f | %.3f (%.3f-%.3f) |\n' "$key" "$threads" "$ma" "$mb" \
    "$(awk -v a="$ma" -v b="$mb" 'BEGIN {print b / a}')" "$lo" "$hi"
done
echo "A: $a_bin, B: $b_bin; load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
