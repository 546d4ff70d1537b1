#!/usr/bin/env bash
# Winograd against oneDNN's direct kernels for fp32 3x3 stride-1 convolutions, per model:
# `edgepipe bench --conv-algorithm direct` and `auto` alternated in fresh processes, medians
# of the per-process p50s, and the ratio auto / direct.
#   bench/conv_algorithm.sh [--rounds 5] [--threads 1] [--iterations 10] [--edgepipe build/edgepipe]
exec "$(dirname "$0")/option_ab.sh" --option conv-algorithm --a direct --b auto --models "det yolov5s resnet50" "$@"
