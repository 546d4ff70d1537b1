#!/usr/bin/env bash
# End-to-end check of edgepipe against ONNX Runtime on random-weight exports of
# ResNet-50, MobileNetV2, MobileNetV3-Large and YOLOv5s/YOLOv8n-shaped detectors
# (scripts/export-models.py). For every model and each of its 2 inputs it runs ORT and
#   EDGEPIPE_BINARY infer MODEL --input NAME=FILE.npy --output-dir DIR
# then requires every output element to satisfy
#   |edgepipe - ort| <= TOL * max(1, M)
# where M is max |ort| over the classifiers' whole output, and over each box
# coordinate / score column for the detectors (docs/oracle.md says why).
# Prints one line per case and "N passed, M failed".
#
# Usage: tests/models/torch_agreement.sh EDGEPIPE_BINARY [WORK_DIR]
#   WORK_DIR keeps inputs and outputs (default: a temp dir removed on exit).
#   EDGEPIPE_TORCH_TOL   tolerance (default 1e-3; docs/oracle.md)
#   EDGEPIPE_BINARY may be tools/ort/fake_edgepipe.mjs to check this script itself.
# Exit status: 0 all passed, 1 any failure, 77 models or ORT unavailable (no torch, offline).
set -euo pipefail

NAME=torch_agreement
# shellcheck source=tests/models/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
TOL="${EDGEPIPE_TORCH_TOL:-1e-3}"

prepare "$REPO_ROOT/scripts/export-models.sh"
prepare "$REPO_ROOT/scripts/ensure-ort.sh"

node "$ORT_DIR/make_torch_inputs.mjs" "$WORK/inputs"

# model file -> prefix of its two inputs in WORK/inputs (<prefix>_scene, <prefix>_random)
MODEL_ORDER=(resnet50 mobilenet_v2 mobilenet_v3_large yolov5s yolov8n)
declare -A INPUT_KIND=(
  [resnet50]=imagenet [mobilenet_v2]=imagenet [mobilenet_v3_large]=imagenet
  [yolov5s]=yolo [yolov8n]=yolo
)
# The axis that indexes the detectors' attributes (x, y, w, h, scores): each
# gets its own magnitude, so pixel-sized boxes do not loosen the bound on scores.
declare -A SCALE_AXIS=([yolov5s]=2 [yolov8n]=1)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Compares every output ORT wrote with edgepipe's file of the same name.
# Prints the details on stdout; returns nonzero on any mismatch.
compare_case() {
  local ort_out="$1" ep_out="$2" name="$3"
  local ok=0 ref out line
  local scale=()
  if [ -n "${SCALE_AXIS[$name]:-}" ]; then scale=(--scale-axis "${SCALE_AXIS[$name]}"); fi
  for ref in "$ort_out"/*.npy; do
    out="$ep_out/$(basename "$ref")"
    if [ ! -f "$out" ]; then
      printf ' %s: missing' "$(basename "$ref" .npy)"
      ok=1
      continue
    fi
    # Capture first: a command substitution's status is lost inside printf's arguments.
    line="$(node "$ORT_DIR/compare.mjs" close "$ref" "$out" --tol "$TOL" --relative "${scale[@]}" 2>&1)" || ok=1
    printf ' %s: %s' "$(basename "$ref" .npy)" "$line"
  done
  return "$ok"
}

passed=0
failed=0
for name in "${MODEL_ORDER[@]}"; do
  model="$MODELS/$name.onnx"
  # The exports name their input 'input' or 'images'; ask ORT rather than assume.
  if ! input_name="$(node "$ORT_DIR/ort_run.mjs" --input-names "$model" 2>&1)" || [ "$(wc -l <<<"$input_name")" -ne 1 ]; then
    echo "FAIL $name: cannot read a single input name with ORT: $input_name"
    failed=$((failed + 2))
    continue
  fi
  for variant in scene random; do
    input="$WORK/inputs/${INPUT_KIND[$name]}_$variant.npy"
    case_name="${name}_$variant"
    ort_out="$WORK/ort/$case_name"
    ep_out="$WORK/edgepipe/$case_name"
    mkdir -p "$ort_out" "$ep_out"
    if ! node "$ORT_DIR/ort_run.mjs" "$model" "$ort_out" "$input_name=$input" 2>"$ort_out.log"; then
      echo "FAIL $case_name: ORT itself failed: $(tail -n 3 "$ort_out.log")"
      failed=$((failed + 1))
      continue
    fi
    start="$(now_ms)"
    if ! "$EDGEPIPE" infer "$model" --input "$input_name=$input" --output-dir "$ep_out" >"$ep_out.log" 2>&1; then
      echo "FAIL $case_name: edgepipe infer failed: $(tail -n 3 "$ep_out.log")"
      failed=$((failed + 1))
      continue
    fi
    elapsed=$(( $(now_ms) - start ))
    if details="$(compare_case "$ort_out" "$ep_out" "$name")"; then
      echo "PASS $case_name (edgepipe ${elapsed} ms)$details"
      passed=$((passed + 1))
    else
      echo "FAIL $case_name (edgepipe ${elapsed} ms)$details"
      failed=$((failed + 1))
    fi
  done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
