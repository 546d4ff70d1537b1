#!/usr/bin/env node
// Summarizes bench/compare_ort.sh's raw runs: per model and thread count, the median
// over rounds of each side's p50 and peak RSS, the ratio edgepipe/ORT, and issue 3's
// targets. Prints a Markdown table and writes every number to OUT_JSON.
// Usage: node compare_ort_report.mjs RAW.jsonl OUT_JSON [--meta JSON]
import { readFileSync, writeFileSync } from "node:fs";

// Issue 3: det at most 0.6 of ORT's p50 at 1 and 2 threads and no more peak memory
// than ORT; every other model at most 0.85.
const LATENCY_TARGET = { det: 0.6 };
const DEFAULT_LATENCY_TARGET = 0.85;
const RSS_TARGET_MODELS = new Set(["det"]);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mib = (kib) => kib / 1024;

function summarize(rows, node_rss_mib) {
  const groups = new Map();
  for (const r of rows.filter((x) => x.side === "edgepipe" || x.side === "ort")) {
    const key = `${r.model}|${r.threads}`;
    if (!groups.has(key)) groups.set(key, { model: r.model, shape: r.shape, threads: r.threads, edgepipe: [], ort: [] });
    groups.get(key)[r.side].push(r);
  }
  return [...groups.values()].map((g) => {
    const by_round = (side) => new Map(g[side].map((r) => [r.round, r]));
    const ep_rounds = by_round("edgepipe"), ort_rounds = by_round("ort");
    const paired = [...ep_rounds.keys()].filter((k) => ort_rounds.has(k))
      .map((k) => ep_rounds.get(k).bench.p50_ms / ort_rounds.get(k).bench.p50_ms);
    const side = (runs) => ({
      p50_ms_median: median(runs.map((r) => r.bench.p50_ms)),
      p50_ms_rounds: runs.map((r) => r.bench.p50_ms),
      p90_ms_median: median(runs.map((r) => r.bench.p90_ms)),
      p99_ms_median: median(runs.map((r) => r.bench.p99_ms)),
      mean_ms_median: median(runs.map((r) => r.bench.mean_ms)),
      rss_mib_median: mib(median(runs.map((r) => r.rss_kib))),
      rss_mib_rounds: runs.map((r) => mib(r.rss_kib)),
    });
    const ep = side(g.edgepipe), ort = side(g.ort);
    const ratio = ep.p50_ms_median / ort.p50_ms_median;
    const target = LATENCY_TARGET[g.model] ?? DEFAULT_LATENCY_TARGET;
    const row = {
      model: g.model, shape: g.shape, threads: g.threads, rounds: g.edgepipe.length, edgepipe: ep, ort,
      ratio, ratio_rounds: paired, ratio_target: target, latency_met: ratio <= target,
    };
    if (RSS_TARGET_MODELS.has(g.model)) {
      row.rss_met = ep.rss_mib_median <= ort.rss_mib_median;
      // Node.js alone is part of ORT's column; the target also checked against ORT without it.
      row.rss_met_without_node = ep.rss_mib_median <= ort.rss_mib_median - node_rss_mib;
    }
    return row;
  });
}

function print_table(summary, node_rss_mib, overhead, meta) {
  const f = (x, d = 2) => x.toFixed(d);
  console.log("| model | shape | threads | edgepipe p50 ms | ORT p50 ms | ratio (per-round range) | target | " +
    "edgepipe RSS MiB | ORT RSS MiB | ORT RSS − node MiB | met? |");
  console.log("|---|---|---|---:|---:|---|---|---:|---:|---:|---|");
  for (const r of summary) {
    const lo = Math.min(...r.ratio_rounds), hi = Math.max(...r.ratio_rounds);
    let target = `≤ ${r.ratio_target}`;
    let met = r.latency_met ? "met" : "not met";
    if ("rss_met" in r) {
      target += ", RSS ≤ ORT";
      const rss = r.rss_met ? (r.rss_met_without_node ? "met" : "met (not met without node)") : "not met";
      met = `latency ${met}; RSS ${rss}`;
    }
    console.log(`| ${r.model} | ${r.shape} | ${r.threads} | ${f(r.edgepipe.p50_ms_median)} | ${f(r.ort.p50_ms_median)} | ` +
      `**${f(r.ratio)}** (${f(lo)}–${f(hi)}) | ${target} | ${f(r.edgepipe.rss_mib_median, 0)} | ` +
      `${f(r.ort.rss_mib_median, 0)} | ${f(r.ort.rss_mib_median - node_rss_mib, 0)} | ${met} |`);
  }
  console.log("");
  console.log(`Medians over ${meta.rounds ?? "?"} rounds, each a fresh process with ${meta.warmup ?? "?"} warmup and ` +
    `${meta.iterations ?? "?"} timed runs. RSS: peak resident set size from /usr/bin/time -v. A bare \`node -e 0\` ` +
    `peaks at ${f(node_rss_mib, 0)} MiB, which the last RSS column takes off ORT's.`);
  if (overhead) {
    console.log(`ORT JS-call overhead (session.run on a one-element Relu model): p50 ${f(overhead.p50_ms * 1000, 1)} µs, ` +
      `mean ${f(overhead.mean_ms * 1000, 1)} µs; not subtracted.`);
  }
  if (meta.uptime_before) console.log(`Load: before \`${meta.uptime_before.trim()}\`; after \`${meta.uptime_after.trim()}\`.`);
  if (meta.elapsed_s !== undefined) console.log(`Took ${meta.elapsed_s} s on ${meta.nproc} × ${meta.cpu}; edgepipe ${meta.edgepipe_commit}.`);
}

function main(argv) {
  if (argv.length !== 2 && !(argv.length === 4 && argv[2] === "--meta")) {
    console.error("usage: compare_ort_report.mjs RAW.jsonl OUT_JSON [--meta JSON]");
    return 2;
  }
  const rows = readFileSync(argv[0], "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  const meta = argv.length === 4 ? JSON.parse(argv[3]) : {};
  const baseline = rows.filter((r) => r.side === "node_baseline").map((r) => r.rss_kib);
  const node_rss_mib = baseline.length ? mib(median(baseline)) : 0;
  const overhead = rows.find((r) => r.side === "ort_call_overhead")?.bench;
  const summary = summarize(rows, node_rss_mib);
  writeFileSync(argv[1], JSON.stringify({ meta, node_baseline_rss_mib: node_rss_mib, ort_call_overhead: overhead,
    summary, raw: rows }, null, 1) + "\n");
  print_table(summary, node_rss_mib, overhead, meta);
  return 0;
}

process.exit(main(process.argv.slice(2)));
