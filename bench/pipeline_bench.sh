#!/usr/bin/env bash
# The pipeline's figures for issue 4, from `edgepipe run --report`:
#   1. live: the built-in OCR pipeline, a 30 fps synthetic source faster than inference,
#      drop_oldest depth 1 in front of the detector: end-to-end p99 against the per-frame
#      compute p99, every drop counted, and the exact-read rate on the ground truth;
#   2. block: the same pipeline with every queue blocking: no frame lost;
#   3. overhead: the source paced below capacity (5 fps), so nothing waits on a model:
#      end-to-end minus the sum of stage compute is what the runtime itself adds.
# Usage: bench/pipeline_bench.sh [--duration S] [--edgepipe PATH] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=20
EDGEPIPE=build/edgepipe
OUT=bench/results/pipeline
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --edgepipe) EDGEPIPE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
"$EDGEPIPE" run --print-pipeline > "$OUT/live.yaml"
sed 's/policy: drop_oldest/policy: block/' "$OUT/live.yaml" > "$OUT/block.yaml"

run() {  # name pipeline extra-args...
  local name="$1" file="$2"; shift 2
  echo "== $name: $EDGEPIPE run $file $* --duration $DURATION" >&2
  "$EDGEPIPE" run "$file" --models . --duration "$DURATION" --quiet --report "$OUT/$name.json" "$@" > "$OUT/$name.txt"
}
run live "$OUT/live.yaml"
run block "$OUT/block.yaml"
run overhead "$OUT/live.yaml" --fps 5

node -e '
const fs = require("fs");
const r = n => JSON.parse(fs.readFileSync(process.argv[1] + "/" + n + ".json"));
const live = r("live"), block = r("block"), ov = r("overhead");
const f = x => x.toFixed(2);
const drops = j => (j.drops || []).map(d => `${d.where} ${d.reason}: ${d.count}`).join(", ") || "none";
console.log(`live (30 fps source, drop_oldest depth 1): ${live.completed} of ${live.captured} frames answered, ${live.dropped} dropped (${drops(live)})`);
console.log(`  end-to-end p50/p99 ${f(live.end_to_end.p50_ms)}/${f(live.end_to_end.p99_ms)} ms, per-frame compute p99 ${f(live.frame_compute.p99_ms)} ms, ratio ${f(live.end_to_end.p99_ms / live.frame_compute.p99_ms)} (target <= 2)`);
console.log(`  ground truth: ${live.labels_exact} of ${live.labels} labels read exactly (${f(100 * live.labels_exact / live.labels)}%, target >= 95%)`);
console.log(`  captured = answered + dropped: ${live.captured === live.completed + live.dropped}`);
console.log(`block (every queue blocks): captured ${block.captured}, answered ${block.completed}, dropped ${block.dropped} (target 0)`);
console.log(`overhead (5 fps source): end-to-end minus compute p50 ${f(ov.overhead.p50_ms)} ms, p99 ${f(ov.overhead.p99_ms)} ms (target p50 <= 0.5)`);
' "$OUT"
