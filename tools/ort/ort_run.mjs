#!/usr/bin/env node
// Runs one ONNX model on ONNX Runtime (CPU, 1 intra-op thread, default "all"
// graph optimizations) and writes each output as OUT_DIR/<output name>.npy.
// Usage: node ort_run.mjs MODEL OUT_DIR IN_NAME=FILE.npy...
//        node ort_run.mjs --input-names MODEL   (prints one input name a line)
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { npy_read, npy_write } from "./npy.mjs";

const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node");

// Runs MODEL on the NAME=FILE.npy bindings; calls on_output(name, dims, data) per output.
export async function ort_run(model, bindings, on_output) {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    // "basic" (constant folding, no layout changes or kernel fusions): ORT's own "all" level
    // moves the detector's probabilities by 1.8e-4 against "basic", and lands 1.6e-4 from a
    // float64 evaluation of the model where "basic" lands 6e-5 (see docs/oracle.md).
    graphOptimizationLevel: process.env.EDGEPIPE_ORT_OPT || "basic",
  });
  const feeds = {};
  for (const binding of bindings) {
    const eq = binding.indexOf("=");
    if (eq <= 0) throw new Error(`input binding '${binding}' is not NAME=FILE.npy`);
    const name = binding.slice(0, eq);
    if (!session.inputNames.includes(name)) {
      throw new Error(`${model} has no input '${name}' (inputs: ${session.inputNames.join(", ")})`);
    }
    const { shape, data } = npy_read(binding.slice(eq + 1));
    feeds[name] = new ort.Tensor("float32", data, shape);
  }
  for (const name of session.inputNames) {
    if (!(name in feeds)) throw new Error(`${model}: input '${name}' not given`);
  }
  const results = await session.run(feeds);
  for (const name of session.outputNames) {
    const t = results[name];
    if (t.type !== "float32") throw new Error(`output '${name}' is ${t.type}; only float32 is written`);
    if (name.includes("/")) throw new Error(`output name '${name}' cannot be a file name`);
    on_output(name, Array.from(t.dims), t.data);
  }
}

async function main(argv) {
  if (argv.length === 2 && argv[0] === "--input-names") {
    const session = await ort.InferenceSession.create(argv[1], { executionProviders: ["cpu"] });
    for (const name of session.inputNames) console.log(name);
    return 0;
  }
  if (argv.length < 3) {
    console.error("usage: ort_run.mjs MODEL OUT_DIR IN_NAME=FILE.npy... | ort_run.mjs --input-names MODEL");
    return 2;
  }
  const [model, out_dir, ...bindings] = argv;
  mkdirSync(out_dir, { recursive: true });
  await ort_run(model, bindings, (name, dims, data) => npy_write(join(out_dir, `${name}.npy`), dims, data));
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`ort_run: ${err.message}`);
      process.exit(1);
    },
  );
}
