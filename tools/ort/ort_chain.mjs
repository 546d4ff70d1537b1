#!/usr/bin/env node
// Loads every shard of an edgepipe partition plan in ONNX Runtime, runs them one after the
// other on a seeded random input (each shard reading the tensors earlier shards wrote), and
// compares the final outputs with the whole model run in ONNX Runtime.
// Usage: node ort_chain.mjs PLAN_DIR WHOLE_MODEL [--tol 1e-5]
// Prints one line per output; exit 0 when every output is within the tolerance.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { make_rng } from "./rng.mjs";

const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node");

const options = { executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "basic" };

async function main(argv) {
  if (argv.length < 2) {
    console.error("usage: ort_chain.mjs PLAN_DIR WHOLE_MODEL [--tol T]");
    return 2;
  }
  const [dir, whole] = argv;
  const tol = argv[2] === "--tol" ? Number(argv[3]) : 1e-5;
  const plan = JSON.parse(readFileSync(join(dir, "plan.json"), "utf8"));
  const rand = make_rng(11);
  const frame = {};
  for (const t of plan.graph_inputs) {
    if (t.dtype !== "f32") throw new Error(`input '${t.name}' is ${t.dtype}; only f32 inputs are generated`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; ++i) data[i] = rand() * 2 - 1;
    frame[t.name] = new ort.Tensor("float32", data, t.shape);
  }
  for (const [k, stage] of plan.stages.entries()) {
    if (stage.shard.includes("/")) throw new Error(`shard '${stage.shard}' is not a plain file name`);
    const s = await ort.InferenceSession.create(join(dir, stage.shard), options);
    const feeds = {};
    for (const name of s.inputNames) {
      if (!(name in frame)) throw new Error(`stage ${k} reads '${name}', which no earlier stage wrote`);
      feeds[name] = frame[name];
    }
    const out = await s.run(feeds);
    for (const name of s.outputNames) frame[name] = out[name];
  }
  const w = await ort.InferenceSession.create(whole, options);
  const feeds = {};
  for (const name of w.inputNames) feeds[name] = frame[name];
  const expect = await w.run(feeds);
  let ok = true;
  for (const name of w.outputNames) {
    const a = expect[name].data, b = frame[name]?.data;
    if (!b || a.length !== b.length) {
      console.log(`${name}: missing or wrong size in the chained shards`);
      ok = false;
      continue;
    }
    let err = 0;
    for (let i = 0; i < a.length; ++i) err = Math.max(err, Math.abs(a[i] - b[i]));
    const pass = err <= tol;
    ok &&= pass;
    console.log(`${name}: ${plan.stages.length} ORT shards vs ORT whole model: max_abs_err=${err.toExponential(3)} ${pass ? "PASS" : "FAIL"}`);
  }
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`ort_chain: ${err.message}`);
    process.exit(1);
  },
);
