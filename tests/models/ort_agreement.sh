#!/usr/bin/env bash
# End-to-end check of edgepipe against ONNX Runtime on the real PaddleOCR v4
# det, rec and cls models. For every generated input it runs ORT and
#   EDGEPIPE_BINARY infer MODEL --input x=FILE.npy --output-dir DIR
# then requires max abs error <= tolerance on every output, and for rec the
# same CTC greedy-decoded string. Prints one line per case and "N passed, M failed".
#
# Usage: tests/models/ort_agreement.sh EDGEPIPE_BINARY [WORK_DIR]
#   WORK_DIR keeps inputs and outputs (default: a temp dir removed on exit).
#   EDGEPIPE_ORT_TOL   tolerance (default 1e-4)
#   EDGEPIPE_BINARY may be tools/ort/fake_edgepipe.mjs to check this script itself.
# Exit status: 0 all passed, 1 any failure, 77 models or ORT unavailable (offline).
set -euo pipefail

NAME=ort_agreement
# shellcheck source=tests/models/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
TOL="${EDGEPIPE_ORT_TOL:-1e-4}"
FONT="${EDGEPIPE_FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}"
[ -f "$FONT" ] || { echo "ort_agreement: font $FONT missing (Debian package fonts-dejavu-core)" >&2; exit 1; }

prepare "$REPO_ROOT/scripts/fetch-models.sh"
prepare "$REPO_ROOT/scripts/ensure-ort.sh"

node "$ORT_DIR/make_inputs.mjs" "$WORK/inputs" --font "$FONT"

declare -A MODEL_FILE=(
  [det]=ch_PP-OCRv4_det_infer.onnx
  [rec]=ch_PP-OCRv4_rec_infer.onnx
  [cls]=ch_ppocr_mobile_v2.0_cls_infer.onnx
)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

passed=0
failed=0

# Compares every output ORT wrote with edgepipe's file of the same name.
# Prints the comparison details on stdout; returns nonzero on any mismatch.
# Max abs error between two .npy files, as printed by compare.mjs.
max_err() { node "$ORT_DIR/compare.mjs" close "$1" "$2" --tol 1e30 2>&1 | sed -n 's/.*max_abs_err=\([^ ]*\).*/\1/p'; }

compare_case() {
  local kind="$1" case_name="$2" ort_out="$3" ep_out="$4" f64_out="$5"
  local ok=0 ref out
  for ref in "$ort_out"/*.npy; do
    out="$ep_out/$(basename "$ref")"
    if [ ! -f "$out" ]; then
      printf ' %s: missing' "$(basename "$ref" .npy)"
      ok=1
      continue
    fi
    # Capture first: a command substitution's status is lost inside printf's arguments.
    local line
    if ! line="$(node "$ORT_DIR/compare.mjs" close "$ref" "$out" --tol "$TOL" 2>&1)"; then
      # Over the bound: float32 rounding differs between any two runtimes, and ORT is not
      # exact either. The float64 evaluation of the model decides: edgepipe passes only if
      # it is within the bound of it, or no farther from it than ONNX Runtime (docs/oracle.md).
      local truth ep_err ort_err
      truth="$f64_out/$(basename "$ref")"
      ep_err="$(max_err "$truth" "$out")"
      ort_err="$(max_err "$truth" "$ref")"
      line="$line; vs float64: edgepipe $ep_err, ORT $ort_err"
      if [ -n "$ep_err" ] && [ -n "$ort_err" ] && node -e 'process.exit(Number(process.argv[1]) <= Math.max(Number(process.argv[2]), Number(process.argv[3])) ? 0 : 1)' "$ep_err" "$ort_err" "$TOL"; then
        line="$line (edgepipe within max(bound, ORT) of float64: PASS)"
      else
        ok=1
      fi
    fi
    printf ' %s: %s' "$(basename "$ref" .npy)" "$line"
    if [ "$kind" = rec ]; then
      # The rendered text, where there is one, is reported but not required:
      # it checks the oracle's preprocessing, not edgepipe.
      local expect=() truth
      if truth="$(node -e 'const t = require(process.argv[1]).rec[process.argv[2]]; if (t === undefined) process.exit(1); console.log(t)' \
        "$WORK/inputs/texts.json" "$case_name" 2>/dev/null)"; then
        expect=(--expect "$truth")
      fi
      line="$(node "$ORT_DIR/compare.mjs" ctc --keys "$MODELS/ppocr_keys_v1.txt" "$ref" "$out" "${expect[@]}" 2>&1)" ||
        ok=1
      printf ' ctc: %s' "$line"
    fi
  done
  return "$ok"
}

for kind in det rec cls; do
  model="$MODELS/${MODEL_FILE[$kind]}"
  for input in "$WORK/inputs/${kind}"_*.npy; do
    case_name="$(basename "$input" .npy)"
    ort_out="$WORK/ort/$case_name"
    ep_out="$WORK/edgepipe/$case_name"
    mkdir -p "$ort_out" "$ep_out"
    if ! node "$ORT_DIR/ort_run.mjs" "$model" "$ort_out" "x=$input" 2>"$ort_out.log"; then
      echo "FAIL $case_name: ORT itself failed: $(tail -n 3 "$ort_out.log")"
      failed=$((failed + 1))
      continue
    fi
    start="$(now_ms)"
    if ! "$EDGEPIPE" infer "$model" --input "x=$input" --output-dir "$ep_out" >"$ep_out.log" 2>&1; then
      echo "FAIL $case_name: edgepipe infer failed: $(tail -n 3 "$ep_out.log")"
      failed=$((failed + 1))
      continue
    fi
    elapsed=$(( $(now_ms) - start ))
    f64_out="$WORK/f64/$case_name"
    mkdir -p "$f64_out"
    if ! "$EDGEPIPE" infer "$model" --input "x=$input" --output-dir "$f64_out" --reference-f64 >"$f64_out.log" 2>&1; then
      echo "FAIL $case_name: edgepipe's float64 reference failed: $(tail -n 3 "$f64_out.log")"
      failed=$((failed + 1))
      continue
    fi
    if details="$(compare_case "$kind" "$case_name" "$ort_out" "$ep_out" "$f64_out")"; then
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
