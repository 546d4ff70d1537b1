# Sourced by the bench scripts: the benchmark models by key.
# model_spec KEY prints "FILE_IN_models/ INPUT_NAME SHAPE"; status 1 for an unknown key.
model_spec() {
  case "$1" in
    det) echo "ch_PP-OCRv4_det_infer.onnx x 1x3x640x640" ;;
    rec) echo "ch_PP-OCRv4_rec_infer.onnx x 1x3x48x320" ;;
    cls) echo "ch_ppocr_mobile_v2.0_cls_infer.onnx x 1x3x48x192" ;;
    resnet50 | mobilenet_v2 | mobilenet_v3_large) echo "$1.onnx input 1x3x224x224" ;;
    yolov5s | yolov8n) echo "$1.onnx images 1x3x640x640" ;;
    *) return 1 ;;
  esac
}
