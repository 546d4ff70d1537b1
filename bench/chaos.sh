#!/usr/bin/env bash
# Chaos harness for redundant nodes (issue 7). Two phases, each a paced stream of frames from
# `edgepipe stream` (the balancer: heartbeats, failover, frames answered or lost by id):
#  A. three nodes serving the same model; every --kill-every seconds one of them (in turn) is
#     killed with SIGKILL and restarted --down-for seconds later on the same port; once in the
#     run one node is stalled instead (SIGSTOP for 1.5 s, then SIGCONT): silent, not dead; and
#     once the link to the third node is cut for 1.5 s (it is reached through a link emulator in
#     the streaming process; SIGUSR1 cuts and restores it).
#  B. two nodes and a local fallback model: both killed at 2 s, one restarted at 5 s.
# It reports frames answered, retried and lost (with ids), each failover's time, the
# fallback's start after the last node died and the remote service's return after a node
# came back, and checks them against the issue's limits (exit 1 if one is missed).
#   bench/chaos.sh [--duration 60] [--fps 30] [--kill-every 5] [--down-for 2] [--heartbeat-ms 100]
#                  [--timeout-ms 300] [--model models/ch_ppocr_mobile_v2.0_cls_infer.onnx]
#                  [--input x=1x3x48x192] [--out DIR] [--edgepipe build/edgepipe]
set -euo pipefail
duration=60 fps=30 kill_every=5 down_for=2 hb=100 timeout=300 bin=build/edgepipe out=""
model=models/ch_ppocr_mobile_v2.0_cls_infer.onnx input=x=1x3x48x192 base_port=$((5700 + RANDOM % 200))
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --fps) fps=$2; shift 2 ;;
    --kill-every) kill_every=$2; shift 2 ;;
    --down-for) down_for=$2; shift 2 ;;
    --heartbeat-ms) hb=$2; shift 2 ;;
    --timeout-ms) timeout=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --input) input=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --edgepipe) bin=$2; shift 2 ;;
    *) echo "chaos.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -f "$model" ] || { echo "chaos.sh: $model is missing (make models)" >&2; exit 77; }
work=$(mktemp -d)
[ -n "$out" ] && mkdir -p "$out" || out=$work
mkdir -p "$work/models"
ln -s "$(realpath "$model")" "$work/models/m.onnx"
declare -A pid
now() { date +%s.%N; }
start_node() {  # port
  rm -f "$work/ready$1"
  "$bin" node --bind "tcp://127.0.0.1:$1" --models "$work/models" --ready-file "$work/ready$1" 2>>"$work/node$1.log" &
  pid[$1]=$!
  for _ in $(seq 1 200); do [ -s "$work/ready$1" ] && break; sleep 0.01; done
  echo "{\"t\": $(now), \"event\": \"ready\", \"port\": $1}" >>"$work/chaos.jsonl"
}
kill_node() {  # port
  echo "{\"t\": $(now), \"event\": \"kill\", \"port\": $1}" >>"$work/chaos.jsonl"
  kill -9 "${pid[$1]}" 2>/dev/null || true
  wait "${pid[$1]}" 2>/dev/null || true
}
cleanup() { for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ "$out" = "$work" ] || cp "$work"/*.jsonl "$work"/*.json "$out"/ 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
addr() { local s=""; for p in "$@"; do s+="${s:+,}tcp://127.0.0.1:$p"; done; echo "$s"; }
common=(--model m --input "$input" --fps "$fps" --heartbeat-ms "$hb" --timeout-ms "$timeout" --deadline-ms 1000 --json)

# ---- A: three redundant nodes, one killed every kill_every seconds
ports=($base_port $((base_port + 1)) $((base_port + 2)))
: >"$work/chaos.jsonl"
for p in "${ports[@]}"; do start_node "$p"; done
"$bin" stream --nodes "$(addr "${ports[@]}")" --duration "$duration" --frames-log "$work/frames_a.jsonl" --link-node 2 \
  "${common[@]}" >"$work/stream_a.json" &
stream=$!
kills=$(awk -v d="$duration" -v k="$kill_every" 'BEGIN { print int((d - 1) / k) }')
stalled=0
sleep "$kill_every"
for i in $(seq 1 "$kills"); do
  p=${ports[$(( (i - 1) % 3 ))]}
  if [ "$stalled" = 0 ] && [ "$i" = 2 ]; then  # once: a silent node that comes back by itself
    echo "{\"t\": $(now), \"event\": \"stall\", \"port\": $p}" >>"$work/chaos.jsonl"
    kill -STOP "${pid[$p]}"; sleep 1.5; kill -CONT "${pid[$p]}"
    echo "{\"t\": $(now), \"event\": \"resume\", \"port\": $p}" >>"$work/chaos.jsonl"
    stalled=1
    sleep "$(awk -v k="$kill_every" 'BEGIN { print k - 1.5 }')"
    continue
  fi
  if [ "$i" = 3 ]; then  # once: the link to the third node cut, then restored
    echo "{\"t\": $(now), \"event\": \"cut\", \"port\": ${ports[2]}}" >>"$work/chaos.jsonl"
    kill -USR1 "$stream"; sleep 1.5; kill -USR1 "$stream"
    echo "{\"t\": $(now), \"event\": \"restore\", \"port\": ${ports[2]}}" >>"$work/chaos.jsonl"
    sleep "$(awk -v k="$kill_every" 'BEGIN { print k - 1.5 }')"
    continue
  fi
  kill_node "$p"
  sleep "$down_for"
  start_node "$p"
  sleep "$(awk -v k="$kill_every" -v d="$down_for" 'BEGIN { print k - d }')"
  continue
done
wait "$stream"
cp "$work/chaos.jsonl" "$work/chaos_a.jsonl"
for p in "${ports[@]}"; do kill_node "$p"; done

# ---- B: every node gone, the local fallback answers; one node returns
: >"$work/chaos.jsonl"
ports_b=($((base_port + 3)) $((base_port + 4)))
for p in "${ports_b[@]}"; do start_node "$p"; done
"$bin" stream --nodes "$(addr "${ports_b[@]}")" --duration 8 --fallback "$model" --frames-log "$work/frames_b.jsonl" \
  "${common[@]}" >"$work/stream_b.json" &
stream=$!
sleep 2
for p in "${ports_b[@]}"; do kill_node "$p"; done
sleep 3
start_node "${ports_b[0]}"
wait "$stream"
cp "$work/chaos.jsonl" "$work/chaos_b.jsonl"

python3 - "$work" "$timeout" <<'PY'
import json, sys
work, timeout = sys.argv[1], float(sys.argv[2])
def lines(f): return [json.loads(l) for l in open(f"{work}/{f}") if l.strip()]
a, fa, ca = json.load(open(f"{work}/stream_a.json")), lines("frames_a.jsonl"), lines("chaos_a.jsonl")
kills = [c for c in ca if c["event"] in ("kill", "stall", "cut")]
worst_failover, lost_per_kill, ok = 0.0, [], True
for k in kills:
    t = k["t"]
    # frames the kill touched: submitted from shortly before it until the node was declared dead
    deaths = [e for e in a["events"] if not e["alive"] and e["t"] >= t and e["node"].endswith(str(k["port"]))]
    until = deaths[0]["t"] if deaths else t + 1.0
    touched = [f for f in fa if t - 0.2 <= f["submit"] <= until]
    waits = [(f["done"] - max(f["submit"], t)) * 1e3 for f in touched if f["by"] and f["retried"]]
    failover = max(waits) if waits else 0.0
    lost = [f["id"] for f in touched if not f["by"]]
    worst_failover = max(worst_failover, failover)
    lost_per_kill.append(len(lost))
    what = {"kill": "kill", "stall": "stall", "cut": "link cut"}[k["event"]]
    print(f"{what} of :{k['port']}: detected after {deaths[0]['silent_ms']:.0f} ms of silence" if deaths else f"{what} of :{k['port']}: no death seen",
          f"| failover {failover:.0f} ms, lost {lost}")
window = 4  # balancer frames in flight per node
print(f"A: {a['frames']} frames, {a['answered']} answered ({a['retried']} after a retry), {a['lost']} lost {a['lost_ids']}")
print(f"A: {sum(c['event'] == 'kill' for c in kills)} kills, {sum(c['event'] == 'stall' for c in kills)} stall, {sum(c['event'] == 'cut' for c in kills)} link cut")
print(f"A: worst failover {worst_failover:.0f} ms (limit 500), lost per disruption max {max(lost_per_kill or [0])} (in-flight window {window})")
ok &= a["answered"] + a["lost"] == a["frames"] and worst_failover <= 500 and max(lost_per_kill or [0]) <= window
b, fb, cb = json.load(open(f"{work}/stream_b.json")), lines("frames_b.jsonl"), lines("chaos_b.jsonl")
last_kill = max(c["t"] for c in cb if c["event"] == "kill")
ready = [c["t"] for c in cb if c["event"] == "ready"][-1]
first_fallback = min((f["done"] for f in fb if f["by"] == "fallback" and f["done"] >= last_kill), default=None)
first_remote = min((f["done"] for f in fb if f["by"] and f["by"] != "fallback" and f["submit"] >= ready), default=None)
fb_after = (first_fallback - last_kill) * 1e3 if first_fallback else float("inf")
resume = (first_remote - ready) * 1e3 if first_remote else float("inf")
print(f"B: {b['frames']} frames, {b['answered']} answered ({b['fallback']} by the fallback), {b['lost']} lost {b['lost_ids']}")
print(f"B: fallback answered {fb_after:.0f} ms after the last node died (limit {2 * timeout:.0f}); "
      f"remote service back {resume:.0f} ms after a node returned (limit 1000)")
ok &= fb_after <= 2 * timeout and resume <= 1000 and b["answered"] + b["lost"] == b["frames"]
json.dump({"failover_worst_ms": worst_failover, "lost_per_kill": lost_per_kill, "answered": a["answered"], "lost": a["lost"],
           "lost_ids": a["lost_ids"], "fallback_after_ms": fb_after, "resume_after_ms": resume, "ok": bool(ok)},
          open(f"{work}/chaos_summary.json", "w"))
print("chaos: " + ("all limits held" if ok else "LIMIT MISSED"))
sys.exit(0 if ok else 1)
PY
