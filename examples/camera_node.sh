#!/usr/bin/env bash
# examples/camera_node.yaml on one machine: an inference node in the background, the camera
# pipeline in front of it. Without a camera the synthetic source stands in for it.
#   examples/camera_node.sh [--source camera:/dev/video0|synthetic] [--duration 10] [--port 5555]
#                           [--report F.json] [--check] [--edgepipe build/edgepipe]
# --check: fail unless frames were answered by the node (no stage errors, no fallback frames)
# and at least 95% of the synthetic labels were read exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
source=synthetic duration=10 port=5555 report="" check="" bin=build/edgepipe
while [ $# -gt 0 ]; do
  case "$1" in
    --source) source=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --report) report=$2; shift 2 ;;
    --check) check=1; shift ;;
    --edgepipe) bin=$2; shift 2 ;;
    *) echo "camera_node.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for m in models/ch_PP-OCRv4_det_infer.onnx models/ch_PP-OCRv4_rec_infer.onnx; do
  [ -f "$m" ] || { echo "camera_node.sh: $m is missing (make models)" >&2; exit 77; }
done
work=$(mktemp -d)
[ -n "$check" ] && [ -z "$report" ] && report=$work/report.json
"$bin" node --bind "tcp://127.0.0.1:$port" --ready-file "$work/ready" 2>"$work/node.log" &
node=$!
trap 'kill $node 2>/dev/null || true; wait $node 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$work/ready" ] || { echo "camera_node.sh: the node did not start:" >&2; cat "$work/node.log" >&2; exit 1; }
# The pipeline file names port 5555; another port is substituted into a copy.
pipeline=examples/camera_node.yaml
if [ "$port" != 5555 ]; then
  sed "s#tcp://127.0.0.1:5555#tcp://127.0.0.1:$port#" examples/camera_node.yaml >"$work/camera_node.yaml"
  pipeline=$work/camera_node.yaml
fi
"$bin" run "$pipeline" --models . --source "$source" --duration "$duration" ${report:+--report "$report"}
echo "--- node log"
cat "$work/node.log"
if [ -n "$check" ]; then
  python3 - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = [s["name"] for s in r["stages"] if s["errors"] or s["fallback_frames"]]
ok = r["completed"] > 0 and not bad and r["labels"] > 0 and r["labels_exact"] * 100 >= r["labels"] * 95
print(f"check: {r['completed']} frames completed, labels {r['labels_exact']}/{r['labels']} exact, "
      f"stages with errors or fallback frames: {bad or 'none'} -> {'ok' if ok else 'FAILED'}")
sys.exit(0 if ok else 1)
PY
fi
