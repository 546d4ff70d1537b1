#!/usr/bin/env bash
# The QDQ models `edgepipe quantize` writes, on the real PP-OCRv4 det and rec:
#   1. EDGEPIPE_BINARY quantize writes det (640x640) and rec (48x320) from synthetic frames;
#   2. ONNX Runtime 1.30 loads both and fuses every det Conv into QLinearConv (so the
#      QDQ groups are where its fusions look for them);
#   3. on every generated input, ORT's INT8 run and our fake-quant run (`--backend ref`: the
#      QDQ graph exactly as written, the oracle of the format) agree: det maps
#      binarized at 0.3 with IoU >= EDGEPIPE_QDQ_MIN_IOU (default 0.97); rec argmax over
#      the classes agrees on >= EDGEPIPE_QDQ_MIN_ARGMAX (default 0.95) of the time steps
#      (integer requantization and float fake quantization round near-ties differently: a
#      trailing space can come and go, so the CTC strings are printed, not required).
#      Agreement with the FP32 model, and of our fast INT8 path (oneDNN int8 convs, which
#      drop the Q/DQ pair on raw conv outputs: one rounding fewer) with ORT, are printed, not
#      required (docs/precision.md).
# Usage: tests/models/qdq_agreement.sh EDGEPIPE_BINARY [WORK_DIR]
# Exit status: 0 all passed, 1 any failure, 77 models or ORT unavailable (offline).
set -euo pipefail

NAME=qdq_agreement
# shellcheck source=tests/models/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
MIN_IOU="${EDGEPIPE_QDQ_MIN_IOU:-0.97}"
MIN_ARGMAX="${EDGEPIPE_QDQ_MIN_ARGMAX:-0.95}"
FONT="${EDGEPIPE_FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}"
[ -f "$FONT" ] || { echo "$NAME: font $FONT missing (Debian package fonts-dejavu-core)" >&2; exit 1; }

prepare "$REPO_ROOT/scripts/fetch-models.sh"
prepare "$REPO_ROOT/scripts/ensure-ort.sh"

node "$ORT_DIR/make_inputs.mjs" "$WORK/inputs" --font "$FONT" >/dev/null

DET="$MODELS/ch_PP-OCRv4_det_infer.onnx"
REC="$MODELS/ch_PP-OCRv4_rec_infer.onnx"
# Without VNNI both runtimes' u8*s8 int8 kernels add product pairs in saturating 16-bit lanes
# (ONNX Runtime's documentation says so of its U8S8 path): ORT would not be an oracle there
# for 8-bit weights, so the models get 7-bit ones (--reduce-range), which every CPU sums exactly.
range=()
grep -qwE 'avx512_vnni|avx_vnni' /proc/cpuinfo 2>/dev/null || range=(--reduce-range)
"$EDGEPIPE" quantize "$DET" --calibration synthetic --method minmax --shape x=1x3x640x640 --samples 8 \
  --eval-samples 0 "${range[@]}" -o "$WORK/det_int8.onnx" >"$WORK/det_quantize.log"
"$EDGEPIPE" quantize "$REC" --calibration synthetic --method minmax --shape x=1x3x48x320 --samples 32 \
  --eval-samples 0 "${range[@]}" -o "$WORK/rec_int8.onnx" >"$WORK/rec_quantize.log"

passed=0
failed=0
check() {  # NAME COMMAND...: runs the command, prints one line, counts the outcome
  local name="$1" line
  shift
  if line="$("$@" 2>&1)"; then
    echo "PASS $name: $line"
    passed=$((passed + 1))
  else
    echo "FAIL $name: $line"
    failed=$((failed + 1))
  fi
}

n_conv="$("$EDGEPIPE" inspect "$DET" | sed -n 's/^  Conv  *\([0-9]*\)$/\1/p')"
[ -n "$n_conv" ] || { echo "$NAME: cannot count the det's Conv nodes" >&2; exit 1; }
fused="$(node "$ORT_DIR/qdq_compare.mjs" fused "$WORK/det_int8.onnx" QLinearConv Conv)"
check "det ORT fusion ($fused, $n_conv Conv in the float model)" test "$fused" = "QLinearConv=$n_conv Conv=0"

for kind in det rec; do
  model="$WORK/${kind}_int8.onnx"
  float_model="$DET"
  [ "$kind" = rec ] && float_model="$REC"
  for input in "$WORK/inputs/${kind}"_*.npy; do
    case_name="$(basename "$input" .npy)"
    mkdir -p "$WORK/ort/$case_name" "$WORK/ep/$case_name" "$WORK/fp32/$case_name" "$WORK/fast/$case_name"
    EDGEPIPE_ORT_OPT=all node "$ORT_DIR/ort_run.mjs" "$model" "$WORK/ort/$case_name" "x=$input" >/dev/null
    "$EDGEPIPE" infer "$model" --backend ref --input "x=$input" --output-dir "$WORK/ep/$case_name" >/dev/null
    "$EDGEPIPE" infer "$model" --input "x=$input" --output-dir "$WORK/fast/$case_name" >/dev/null
    "$EDGEPIPE" infer "$float_model" --input "x=$input" --output-dir "$WORK/fp32/$case_name" >/dev/null
    for ref in "$WORK/ort/$case_name"/*.npy; do
      out="$WORK/ep/$case_name/$(basename "$ref")"
      fp="$WORK/fp32/$case_name/$(basename "$ref")"
      fast="$WORK/fast/$case_name/$(basename "$ref")"
      if [ "$kind" = det ]; then
        check "$case_name" node "$ORT_DIR/qdq_compare.mjs" iou "$ref" "$out" --min "$MIN_IOU"
        echo "     $case_name vs FP32: $(node "$ORT_DIR/qdq_compare.mjs" iou "$fp" "$out")"
        echo "     $case_name our fast INT8 path vs ORT: $(node "$ORT_DIR/qdq_compare.mjs" iou "$ref" "$fast")"
      else
        check "$case_name" node "$ORT_DIR/qdq_compare.mjs" argmax "$ref" "$out" --min "$MIN_ARGMAX"
        echo "     $case_name our fast INT8 path vs ORT: $(node "$ORT_DIR/qdq_compare.mjs" argmax "$ref" "$fast")"
        echo "     $case_name ctc ORT vs ours: $(node "$ORT_DIR/compare.mjs" ctc --keys "$MODELS/ppocr_keys_v1.txt" "$ref" "$out" 2>&1 || true)"
        echo "     $case_name vs FP32: $(node "$ORT_DIR/qdq_compare.mjs" argmax "$fp" "$out"); ctc $(node "$ORT_DIR/compare.mjs" ctc --keys "$MODELS/ppocr_keys_v1.txt" "$fp" "$out" 2>&1 || true)"
      fi
    done
  done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
