#!/usr/bin/env node
// ONNX Runtime's time per graph node, from its own profiler, for bench/compare_ort_layers.sh.
// Runs the model like ort_bench.mjs (graphOptimizationLevel "all", intra-op threads N,
// inter-op 1, seeded uniform [-1, 1) inputs) with enableProfiling on, drops the first W runs,
// and prints one JSON object: {runtime, model, threads, runs, run_median_ms, nodes: [{name,
// op, median_ms}]} with the nodes in the order ORT ran them. ORT names a node it fused after
// the tensor the fused node produces (plus "_nchwc" for its blocked-layout kernels).
// Profiling adds a little time to every node; compare shares and ratios, not absolutes.
// Usage: node ort_layers.mjs MODEL [--shape NAME=DIMS]... [--threads N] [--warmup W] [--iterations K]
import { createRequire } from "node:module";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { make_rng } from "./rng.mjs";

const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node");

function parse_args(argv) {
  const a = { model: null, shapes: {}, threads: 1, warmup: 3, iterations: 10 };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    const int = (v, min) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`${arg} wants an integer >= ${min}, got '${v}'`);
      return n;
    };
    if (arg === "--threads") a.threads = int(next(), 1);
    else if (arg === "--warmup") a.warmup = int(next(), 0);
    else if (arg === "--iterations") a.iterations = int(next(), 1);
    else if (arg === "--shape") {
      const spec = next();
      const m = /^([^=]+)=(\d+(?:x\d+)*)$/.exec(spec);
      if (!m) throw new Error(`--shape '${spec}' is not NAME=DIMS`);
      a.shapes[m[1]] = m[2].split("x").map(Number);
    } else if (arg.startsWith("-")) throw new Error(`unknown option ${arg}`);
    else if (a.model === null) a.model = arg;
    else throw new Error(`unexpected argument '${arg}'`);
  }
  if (a.model === null) throw new Error("no MODEL given");
  return a;
}

function feeds_for(session, shapes) {
  const rand = make_rng(1);
  const feeds = {};
  session.inputNames.forEach((name, index) => {
    const meta = session.inputMetadata?.[index];
    const dims = shapes[name] ?? meta?.shape;
    if (!dims || !dims.every((d) => typeof d === "number" && d > 0)) {
      throw new Error(`input '${name}' has open dimensions; give --shape ${name}=DIMS`);
    }
    const data = new Float32Array(dims.reduce((x, y) => x * y, 1));
    for (let i = 0; i < data.length; ++i) data[i] = rand() * 2 - 1;
    feeds[name] = new ort.Tensor("float32", data, dims);
  });
  return feeds;
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main(argv) {
  let a;
  try {
    a = parse_args(argv);
  } catch (err) {
    console.error(`ort_layers: ${err.message}`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), "ort-layers-"));
  try {
    const session = await ort.InferenceSession.create(a.model, {
      executionProviders: ["cpu"], intraOpNumThreads: a.threads, interOpNumThreads: 1,
      graphOptimizationLevel: "all", enableProfiling: true, profileFilePrefix: join(dir, "profile"),
    });
    const feeds = feeds_for(session, a.shapes);
    for (let i = 0; i < a.warmup + a.iterations; ++i) await session.run(feeds);
    session.endProfiling();
    const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
    if (files.length !== 1) throw new Error(`expected one profile in ${dir}, found ${files.length}`);
    const events = JSON.parse(readFileSync(join(dir, files[0]), "utf8"));
    const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run").sort((x, y) => x.ts - y.ts);
    if (runs.length < a.warmup + a.iterations) throw new Error(`profile holds ${runs.length} runs`);
    const timed = runs.slice(a.warmup);
    const in_timed = (ts) => timed.some((r) => ts >= r.ts && ts <= r.ts + r.dur);
    const per_node = new Map();  // name -> {op, durations (us), first}
    for (const e of events) {
      if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || !in_timed(e.ts)) continue;
      const name = e.name.slice(0, -"_kernel_time".length);
      if (!per_node.has(name)) per_node.set(name, { op: e.args?.op_name ?? "?", durations: [], first: e.ts });
      per_node.get(name).durations.push(e.dur);
    }
    const nodes = [...per_node.entries()]
      .sort((x, y) => x[1].first - y[1].first)
      .map(([name, v]) => ({ name, op: v.op, median_ms: median(v.durations) / 1000 }));
    console.log(JSON.stringify({
      runtime: `onnxruntime-node ${ort.env.versions?.common ?? "?"}`, model: a.model, threads: a.threads,
      runs: timed.length, run_median_ms: median(timed.map((r) => r.dur)) / 1000, nodes,
    }));
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  console.error(`ort_layers: ${err.stack ?? err}`);
  process.exit(1);
});
