#!/usr/bin/env bash
# A partition plan on two `edgepipe node` processes (issue 6): the detector split in two by
# the partitioner for a 1 Gbit/s, 0.2 ms link, node A pinned to core 0 and node B to core 1,
# the link between them emulated in the benchmark process. Frames go one at a time; the
# end-to-end latency is compared with the partitioner's prediction (its stages and cut plus
# the outputs' way back over the link) and the outputs with the whole model's.
#   bench/sharded_nodes.sh [--model M] [--shape x=1x3x640x640] [--link 1gbps:0.2ms] [--plan DIR]
#                          [--rounds 3] [--frames 10] [--edgepipe build/edgepipe]
set -euo pipefail
model=models/ch_PP-OCRv4_det_infer.onnx shape=x=1x3x640x640 link=1gbps:0.2ms plan="" rounds=3 frames=10 bin=build/edgepipe
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --shape) shape=$2; shift 2 ;;
    --link) link=$2; shift 2 ;;
    --plan) plan=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
    --edgepipe) bin=$2; shift 2 ;;
    *) echo "sharded_nodes.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
if [ -z "$plan" ]; then
  plan=$work/plan
  "$bin" partition "$model" --stages 2 --shape "$shape" --link "$link" -o "$plan" >&2
fi
start_node() {  # core, ready file
  taskset -c "$1" "$bin" node --bind 'tcp://127.0.0.1:*' --ready-file "$2" 2>>"$work/nodes.log" &
  pids+=($!)
}
start_node 0 "$work/a"
start_node 1 "$work/b"
for f in "$work/a" "$work/b"; do
  for _ in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.1; done
  [ -s "$f" ] || { echo "sharded_nodes.sh: a node did not start:" >&2; cat "$work/nodes.log" >&2; exit 1; }
done
a=$(head -1 "$work/a") b=$(head -1 "$work/b")
errors=()
for r in $(seq 1 "$rounds"); do
  line=$("$bin" bench "$plan" --nodes "$a,$b" --emulate-link "$link" --whole "$model" --iterations "$frames" \
         --prefix "round$r" --json)
  echo "$line"
  errors+=("$(echo "$line" | sed 's/.*"error":\([-0-9.e]*\).*/\1/')")
done
"$bin" bench "$plan" --nodes "$a,$b" --emulate-link "$link" --whole "$model" --iterations "$frames" --prefix table
printf '%s\n' "${errors[@]}" | sort -g | awk '{v[NR]=$1} END {printf "end to end vs prediction per round: %+.1f%% .. %+.1f%%, median %+.1f%%\n", 100*v[1], 100*v[NR], 100*v[int((NR+1)/2)]}'
