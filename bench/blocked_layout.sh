#!/usr/bin/env bash
# NHWC against nChw8c activations between f32 convolutions (SessionOptions::blocked_layout,
# passes/layout_blocked.cc) per model: ratio blocked / NHWC, alternated fresh processes.
#   bench/blocked_layout.sh [--models "det rec cls resnet50 mobilenet_v3_large yolov5s"] [--rounds 5] [--threads 1] ...
exec "$(dirname "$0")/option_ab.sh" --option blocked-layout --a off --b on \
  --models "det rec cls resnet50 mobilenet_v3_large yolov5s" "$@"
