#!/usr/bin/env bash
# Writes INT8 QDQ versions of the PP-OCRv4 det and rec to build/quant/ (where
# examples/ocr_synthetic_int8.yaml reads them), calibrated on synthetic text scenes, with
# the per-layer reports beside them. The commands and the figures they gave are in
# docs/precision.md.
# Usage: scripts/quantize-ocr-models.sh [EDGEPIPE_BINARY] [OUT_DIR]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EDGEPIPE="${1:-$REPO_ROOT/build/edgepipe}"
OUT="${2:-$REPO_ROOT/build/quant}"
MODELS="$REPO_ROOT/models"
mkdir -p "$OUT"

"$EDGEPIPE" quantize "$MODELS/ch_PP-OCRv4_det_infer.onnx" --calibration synthetic --method percentile \
  --shape x=1x3x640x640 --samples 16 --eval-samples 16 --max-accuracy-drop 0.02 --test-samples 32 \
  --report "$OUT/ch_PP-OCRv4_det_int8.json" -o "$OUT/ch_PP-OCRv4_det_int8.onnx"
"$EDGEPIPE" quantize "$MODELS/ch_PP-OCRv4_rec_infer.onnx" --calibration synthetic --method percentile \
  --shape x=1x3x48x320 --samples 64 --eval-samples 24 --max-accuracy-drop 0.005 --test-samples 96 \
  --report "$OUT/ch_PP-OCRv4_rec_int8.json" -o "$OUT/ch_PP-OCRv4_rec_int8.onnx"
