#!/usr/bin/env bash
# One hop's overhead for a tensor on loopback (issue 6: 1x3x640x640 f32, p50 <= 1 ms): from
# handing the header and the tensor frame to ZeroMQ until the receiver has decoded and
# validated it, with a TensorView into the received frame. Several fresh processes, since
# one process's numbers move with whatever else the machine runs.
# --shm: the same-host path, the tensor in the sender's shared memory and only its reference
# on the socket (docs/protocol.md, "Shared memory on one host").
#   bench/node_hop.sh [--rounds 5] [--iterations 300] [--shape 1x3x640x640] [--curve] [--shm] [--edgepipe build/edgepipe]
set -euo pipefail
rounds=5 iterations=300 shape=1x3x640x640 curve="" shm="" bin=build/edgepipe
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --shape) shape=$2; shift 2 ;;
    --curve) curve=--curve; shift ;;
    --shm) shm=--shm; shift ;;
    --edgepipe) bin=$2; shift 2 ;;
    *) echo "node_hop.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
p50s=()
for r in $(seq 1 "$rounds"); do
  line=$("$bin" node-bench --shape "$shape" --iterations "$iterations" $curve $shm --json)
  echo "$line"
  p50s+=("$(echo "$line" | sed 's/.*"p50_ms":\([0-9.e-]*\).*/\1/')")
done
printf '%s\n' "${p50s[@]}" | sort -g | awk -v s="$shape" -v t="${shm:+ (shared memory)}" '{v[NR]=$1} END {printf "hop %s f32%s: p50 per round %s .. %s ms, median of rounds %s ms\n", s, t, v[1], v[NR], v[int((NR+1)/2)]}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
