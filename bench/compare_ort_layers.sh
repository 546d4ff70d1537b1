#!/usr/bin/env bash
# Where edgepipe and ONNX Runtime differ, layer by layer: edgepipe's per-step times
# (`edgepipe bench --steps --json`) against ORT's own profiler (tools/ort/ort_layers.mjs),
# each ORT node charged to the edgepipe step that computes the same part of the model
# (tools/ort/compare_layers.mjs says how). Prints the steps where edgepipe spends the most
# over ORT, totals by op, and what ORT spends outside any step (its layout reorders).
#
# Usage: bench/compare_ort_layers.sh MODEL [--threads N] [--warmup W] [--iterations K]
#          [--top N] [--out DIR] [--edgepipe BIN]
#   MODEL: a key of bench/compare_ort.sh (det rec cls resnet50 mobilenet_v2
#          mobilenet_v3_large yolov5s yolov8n), or NAME.onnx=INPUT=SHAPE for any model file.
# The two runs are sequential, not alternated: read ratios between layers of one run, and
# use bench/compare_ort.sh for the whole-model ratio. ORT's profiler adds a little to
# every node. Writes DIR/edgepipe.json and DIR/ort.json.
# Exit status: 0 measured, 1 a run failed, 2 bad usage, 3 ORT or the model unavailable.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THREADS=1
WARMUP=5
ITERATIONS=20
TOP=25
OUT="$REPO_ROOT/build/bench/layers"
EDGEPIPE="$REPO_ROOT/build/edgepipe"

usage() { sed -n '8,11p' "$0" | sed 's/^# //' >&2; exit 2; }
[ $# -ge 1 ] || usage
SPEC="$1"
shift
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --threads) THREADS="$2" ;;
    --warmup) WARMUP="$2" ;;
    --iterations) ITERATIONS="$2" ;;
    --top) TOP="$2" ;;
    --out) OUT="$2" ;;
    --edgepipe) EDGEPIPE="$2" ;;
    *) usage ;;
  esac
  shift 2
done
for n in "$THREADS" "$ITERATIONS" "$TOP"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "compare_ort_layers: '$n' is not a positive integer" >&2; usage; }
done
[[ "$WARMUP" =~ ^[0-9]+$ ]] || usage

source "$REPO_ROOT/bench/models.sh"
if spec="$(model_spec "$SPEC")"; then
  read -r file input shape <<<"$spec"
  MODEL="$REPO_ROOT/models/$file"
  "$REPO_ROOT/scripts/fetch-models.sh" >/dev/null
  case "$SPEC" in resnet50 | mobilenet_v* | yolov*) "$REPO_ROOT/scripts/export-models.sh" >/dev/null ;; esac
elif [[ "$SPEC" =~ ^(.+\.onnx)=([^=]+)=([0-9x]+)$ ]]; then
  MODEL="${BASH_REMATCH[1]}"
  input="${BASH_REMATCH[2]}"
  shape="${BASH_REMATCH[3]}"
else
  echo "compare_ort_layers: '$SPEC' is neither a model key nor FILE.onnx=INPUT=SHAPE" >&2
  usage
fi
[ -f "$MODEL" ] || { echo "compare_ort_layers: $MODEL missing" >&2; exit 3; }
"$REPO_ROOT/scripts/ensure-ort.sh" || exit $?
[ -x "$EDGEPIPE" ] || { echo "compare_ort_layers: $EDGEPIPE is not an executable (make build)" >&2; exit 1; }

mkdir -p "$OUT"
common=(--shape "$input=$shape" --threads "$THREADS" --warmup "$WARMUP" --iterations "$ITERATIONS")
"$EDGEPIPE" bench "$MODEL" "${common[@]}" --steps --json >"$OUT/edgepipe.json" ||
  { echo "compare_ort_layers: edgepipe bench failed" >&2; exit 1; }
node "$REPO_ROOT/tools/ort/ort_layers.mjs" "$MODEL" "${common[@]}" >"$OUT/ort.json" ||
  { echo "compare_ort_layers: ORT run failed" >&2; exit 1; }
node "$REPO_ROOT/tools/ort/compare_layers.mjs" "$OUT/edgepipe.json" "$OUT/ort.json" --top "$TOP" ||
  { echo "compare_ort_layers: join failed" >&2; exit 1; }
