#!/usr/bin/env bash
# The shards `edgepipe partition` writes are plain ONNX: ONNX Runtime loads each of them, and
# chained they reproduce ORT's own run of the whole model (det, rec, ResNet-50, 3 stages).
# Usage: tests/partition/ort_shards.sh EDGEPIPE_BINARY [WORK_DIR]
#   EDGEPIPE_ORT_TOL   tolerance (default 1e-5)
# Exit status: 0 all passed, 1 any failure, 77 models or ONNX Runtime unavailable.
set -euo pipefail

NAME=ort_shards
# shellcheck source=tests/models/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../models/common.sh"
TOL="${EDGEPIPE_ORT_TOL:-1e-5}"
command -v node >/dev/null || { echo "ort_shards: SKIP: node is not installed"; exit "$kSkip"; }
[ -d "$ORT_DIR/node_modules/onnxruntime-node" ] || { echo "ort_shards: SKIP: onnxruntime-node is not installed (scripts/ensure-ort.sh)"; exit "$kSkip"; }

passed=0
failed=0
for spec in "det ch_PP-OCRv4_det_infer.onnx x=1x3x640x640" "rec ch_PP-OCRv4_rec_infer.onnx x=1x3x48x320" \
            "resnet50 resnet50.onnx input=1x3x224x224"; do
  set -- $spec
  model="$MODELS/$2"
  if [ ! -f "$model" ]; then
    echo "ort_shards: SKIP: $model is missing (scripts/fetch-models.sh)"
    exit "$kSkip"
  fi
  plan="$WORK/$1"
  if ! "$EDGEPIPE" partition "$model" --stages 3 --devices cpu:1@0,cpu:1@0,cpu:1@0 --shape "$3" --iterations 1 --no-contention -o "$plan" >"$plan.log" 2>&1; then
    echo "FAIL $1: edgepipe partition failed: $(tail -n 3 "$plan.log")"
    failed=$((failed + 1))
    continue
  fi
  if line="$(node "$ORT_DIR/ort_chain.mjs" "$plan" "$model" --tol "$TOL" 2>&1)"; then
    echo "PASS $1: $line"
    passed=$((passed + 1))
  else
    echo "FAIL $1: $line"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
