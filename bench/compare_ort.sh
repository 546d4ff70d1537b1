#!/usr/bin/env bash
# Side-by-side latency and peak memory of edgepipe and ONNX Runtime 1.30 (CPU EP)
# on the same models, shapes and thread counts (issue 3's targets). See bench/README.md.
#
# Usage: bench/compare_ort.sh [--threads "1 2"] [--rounds R] [--warmup W] [--iterations K]
#          [--models "det rec cls resnet50 mobilenet_v3_large yolov5s"] [--out DIR] [--edgepipe BIN]
#
# Each round starts a fresh process of each runtime (W untimed runs, then K timed ones)
# under /usr/bin/time -v, alternating which goes first, so slow drifts in the load of a
# shared machine hit both sides alike. The table reports medians over rounds.
# Writes DIR/raw.jsonl (one line per process) and DIR/compare_ort.json (all numbers).
# Exit status: 0 measured (targets met or not), 1 a run failed, 2 bad usage,
# 3 ORT, models or /usr/bin/time unavailable (from ensure-ort.sh, fetch-models.sh, export-models.sh).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THREADS="1 2"
ROUNDS=5
WARMUP=5
ITERATIONS=20
MODELS="det rec cls resnet50 mobilenet_v3_large yolov5s"
OUT="$REPO_ROOT/build/bench"
EDGEPIPE="$REPO_ROOT/build/edgepipe"

usage() { sed -n '5,6p' "$0" | sed 's/^# //' >&2; exit 2; }
die() { echo "compare_ort: ERROR: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --threads) THREADS="$2" ;;
    --rounds) ROUNDS="$2" ;;
    --warmup) WARMUP="$2" ;;
    --iterations) ITERATIONS="$2" ;;
    --models) MODELS="$2" ;;
    --out) OUT="$2" ;;
    --edgepipe) EDGEPIPE="$2" ;;
    *) usage ;;
  esac
  shift 2
done
for n in "$ROUNDS" "$ITERATIONS" $THREADS; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "compare_ort: '$n' is not a positive integer" >&2; usage; }
done
[[ "$WARMUP" =~ ^[0-9]+$ ]] || usage

# model key -> file in models/, input name, shape
source "$REPO_ROOT/bench/models.sh"
for m in $MODELS; do model_spec "$m" >/dev/null || { echo "compare_ort: unknown model '$m'" >&2; usage; }; done

[ -x /usr/bin/time ] || { echo "compare_ort: ERROR: /usr/bin/time missing (apt-get install time)" >&2; exit 3; }
"$REPO_ROOT/scripts/ensure-ort.sh" || exit $?
"$REPO_ROOT/scripts/fetch-models.sh" >/dev/null
# Only the torch models need torch: a PaddleOCR-only run works without it.
case " $MODELS " in
  *" resnet50 "* | *" mobilenet_v"* | *" yolov"*) "$REPO_ROOT/scripts/export-models.sh" >/dev/null ;;
esac
if [ ! -x "$EDGEPIPE" ]; then
  [ "$EDGEPIPE" = "$REPO_ROOT/build/edgepipe" ] || die "$EDGEPIPE is not an executable"
  echo "compare_ort: building edgepipe (make build)" >&2
  make -C "$REPO_ROOT" build >/dev/null
fi

mkdir -p "$OUT"
RAW="$OUT/raw.jsonl"
: >"$RAW"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
ORT_BENCH="$REPO_ROOT/tools/ort/ort_bench.mjs"

# Peak RSS in KiB from a `time -v` report.
peak_kib() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }

# Runs one side once; appends {side, model, threads, round, rss_kib, bench: {...}} to RAW.
run_side() {
  local side="$1" key="$2" threads="$3" round="$4" file input shape
  read -r file input shape <<<"$(model_spec "$key")"
  local model="$REPO_ROOT/models/$file" cmd
  if [ "$side" = edgepipe ]; then
    cmd=("$EDGEPIPE" bench "$model" --shape "$input=$shape" --threads "$threads")
  else
    cmd=(node "$ORT_BENCH" "$model" --shape "$input=$shape" --threads "$threads")
  fi
  cmd+=(--warmup "$WARMUP" --iterations "$ITERATIONS" --json)
  if ! /usr/bin/time -v -o "$TMP/time" "${cmd[@]}" >"$TMP/out" 2>"$TMP/err"; then
    cat "$TMP/err" >&2
    die "$side failed on $key at $threads thread(s): ${cmd[*]}"
  fi
  printf '{"side":"%s","model":"%s","shape":"%s","threads":%d,"round":%d,"rss_kib":%d,"bench":%s}\n' \
    "$side" "$key" "$shape" "$threads" "$round" "$(peak_kib "$TMP/time")" "$(tail -n 1 "$TMP/out")" >>"$RAW"
}

# A bare node process's peak RSS: the part of ORT's column that is Node.js, not ORT.
for i in 1 2 3; do
  /usr/bin/time -v -o "$TMP/time" node -e 0
  echo "{\"side\":\"node_baseline\",\"round\":$i,\"rss_kib\":$(peak_kib "$TMP/time")}" >>"$RAW"
done
# What one session.run costs JavaScript on a one-element model (an upper bound on the call overhead).
node "$ORT_BENCH" --overhead --warmup 200 --iterations 5000 --json >"$TMP/out"
echo "{\"side\":\"ort_call_overhead\",\"bench\":$(cat "$TMP/out")}" >>"$RAW"

START=$(date +%s)
LOAD_BEFORE="$(uptime)"
echo "compare_ort: models [$MODELS], threads [$THREADS], $ROUNDS rounds, $WARMUP warmup + $ITERATIONS iterations" >&2
for key in $MODELS; do
  for threads in $THREADS; do
    for round in $(seq 1 "$ROUNDS"); do
      echo "compare_ort: $key, $threads thread(s), round $round/$ROUNDS" >&2
      # Alternate who goes first, so neither side always gets the cooler (or warmer) cache and CPU.
      if [ $((round % 2)) -eq 1 ]; then sides="edgepipe ort"; else sides="ort edgepipe"; fi
      for side in $sides; do run_side "$side" "$key" "$threads" "$round"; done
    done
  done
done
LOAD_AFTER="$(uptime)"
ELAPSED=$(($(date +%s) - START))

node "$REPO_ROOT/bench/compare_ort_report.mjs" "$RAW" "$OUT/compare_ort.json" \
  --meta "$(printf '{"command":"%s","rounds":%d,"warmup":%d,"iterations":%d,"elapsed_s":%d,"uptime_before":"%s","uptime_after":"%s","edgepipe_commit":"%s","edgepipe_binary":"%s","cpu":"%s","nproc":%d}' \
    "bench/compare_ort.sh --threads '$THREADS' --rounds $ROUNDS --warmup $WARMUP --iterations $ITERATIONS --models '$MODELS'" \
    "$ROUNDS" "$WARMUP" "$ITERATIONS" "$ELAPSED" "$LOAD_BEFORE" "$LOAD_AFTER" \
    "$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$EDGEPIPE" \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)")"
