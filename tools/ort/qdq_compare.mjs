#!/usr/bin/env node
// Checks for quantized (QDQ) models, where outputs move by quantization steps and a plain
// max-abs bound says little.
//   node qdq_compare.mjs iou A.npy B.npy [--threshold 0.3] [--min 0.97]
//     IoU of the two maps binarized at the threshold (a text detector's probabilities).
//   node qdq_compare.mjs argmax A.npy B.npy [--min 0.95]
//     share of rows (all but the last axis) whose argmax over the last axis agrees
//     (a CTC recognizer's time steps).
//   node qdq_compare.mjs fused MODEL.onnx OP...
//     loads MODEL in ONNX Runtime with all graph optimizations, writes the optimized model
//     and prints how many nodes of each OP it holds (QLinearConv: ORT fused the QDQ groups).
// Exit status: 0 pass, 1 below --min, 2 usage or file error.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { npy_read } from "./npy.mjs";

function option(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : fallback;
}

function iou(args) {
  const a = npy_read(args[0]), b = npy_read(args[1]);
  const t = option(args, "--threshold", 0.3), min = option(args, "--min", 0);
  if (a.shape.join("x") !== b.shape.join("x")) throw new Error(`shapes ${a.shape} and ${b.shape} differ`);
  let inter = 0, union = 0;
  for (let i = 0; i < a.data.length; ++i) {
    const x = a.data[i] > t, y = b.data[i] > t;
    inter += x && y;
    union += x || y;
  }
  const value = union ? inter / union : 1;
  const pass = value >= min;
  console.log(`iou@${t}=${value.toFixed(4)} (${inter}/${union}) min=${min} ${pass ? "PASS" : "FAIL"}`);
  return pass ? 0 : 1;
}

function argmax_agreement(args) {
  const a = npy_read(args[0]), b = npy_read(args[1]);
  const min = option(args, "--min", 0);
  if (a.shape.join("x") !== b.shape.join("x")) throw new Error(`shapes ${a.shape} and ${b.shape} differ`);
  const c = a.shape[a.shape.length - 1], rows = a.data.length / c;
  const best = (d, r) => {
    let k = 0;
    for (let i = 1; i < c; ++i) if (d[r * c + i] > d[r * c + k]) k = i;
    return k;
  };
  let same = 0;
  for (let r = 0; r < rows; ++r) same += best(a.data, r) === best(b.data, r);
  const value = rows ? same / rows : 1;
  const pass = value >= min;
  console.log(`argmax agreement=${value.toFixed(4)} (${same}/${rows}) min=${min} ${pass ? "PASS" : "FAIL"}`);
  return pass ? 0 : 1;
}

// Counts NodeProto op_type fields (tag 0x22, length, name) in the serialized model.
function count_op(bytes, op) {
  const needle = Buffer.concat([Buffer.from([0x22, op.length]), Buffer.from(op)]);
  let n = 0;
  for (let i = bytes.indexOf(needle); i >= 0; i = bytes.indexOf(needle, i + 1)) ++n;
  return n;
}

async function fused(args) {
  const require = createRequire(import.meta.url);
  const ort = require("onnxruntime-node");
  const dir = mkdtempSync(join(tmpdir(), "qdq_fused_"));
  const out = join(dir, "optimized.onnx");
  try {
    await ort.InferenceSession.create(args[0], {
      executionProviders: ["cpu"], intraOpNumThreads: 1, graphOptimizationLevel: "extended",
      optimizedModelFilePath: out,
    });
    const bytes = readFileSync(out);
    console.log(args.slice(1).map((op) => `${op}=${count_op(bytes, op)}`).join(" "));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}

const [cmd, ...rest] = process.argv.slice(2);
try {
  if (cmd === "iou" && rest.length >= 2) process.exit(iou(rest));
  else if (cmd === "argmax" && rest.length >= 2) process.exit(argmax_agreement(rest));
  else if (cmd === "fused" && rest.length >= 2) process.exit(await fused(rest));
  console.error("usage: qdq_compare.mjs iou A.npy B.npy [--threshold T] [--min M] | argmax A.npy B.npy [--min M] | fused MODEL OP...");
  process.exit(2);
} catch (e) {
  console.error(`qdq_compare: ${e.message}`);
  process.exit(2);
}
