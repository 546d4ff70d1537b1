#!/usr/bin/env node
// Times ONNX Runtime (CPU EP) on one model the way `edgepipe bench` times edgepipe,
// so bench/compare_ort.sh can put the two side by side. ORT runs as users run it:
// graphOptimizationLevel "all" (its default and fastest), intra-op threads N,
// inter-op threads 1, seeded uniform [-1, 1) float inputs.
// Usage: node ort_bench.mjs MODEL [--shape NAME=1x3x640x640]... [--threads N]
//          [--warmup W] [--iterations K] [--json]
//        node ort_bench.mjs --overhead [--iterations K] [--json]
//   --overhead times session.run on a one-element Relu model built in memory: what
//   the JavaScript call itself costs, to be read against the real models' times.
import { createRequire } from "node:module";
import { make_rng } from "./rng.mjs";

const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node");

const USAGE =
  "usage: ort_bench.mjs MODEL [--shape NAME=DIMS]... [--threads N] [--warmup W] [--iterations K] [--json]\n" +
  "       ort_bench.mjs --overhead [--warmup W] [--iterations K] [--json]";

function parse_args(argv) {
  const a = { model: null, shapes: {}, threads: 1, warmup: 5, iterations: 20, json: false, overhead: false };
  const int_arg = (flag, value, min) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} wants an integer >= ${min}, got '${value}'`);
    return n;
  };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === "--json") a.json = true;
    else if (arg === "--overhead") a.overhead = true;
    else if (arg === "--threads") a.threads = int_arg(arg, next(), 1);
    else if (arg === "--warmup") a.warmup = int_arg(arg, next(), 0);
    else if (arg === "--iterations") a.iterations = int_arg(arg, next(), 1);
    else if (arg === "--shape") {
      const spec = next();
      const m = /^([^=]+)=(\d+(?:x\d+)*)$/.exec(spec);
      if (!m) throw new Error(`--shape '${spec}' is not NAME=DIMS (e.g. x=1x3x640x640)`);
      a.shapes[m[1]] = m[2].split("x").map(Number);
    } else if (arg.startsWith("-")) throw new Error(`unknown option ${arg}`);
    else if (a.model === null) a.model = arg;
    else throw new Error(`unexpected argument '${arg}'`);
  }
  if ((a.model === null) === !a.overhead) throw new Error("give exactly one of MODEL and --overhead");
  return a;
}

// Protobuf encoding, just enough for the one-node model below.
function varint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
const field_varint = (field, n) => [...varint(field << 3), ...varint(n)];
function field_bytes(field, bytes) {
  const b = typeof bytes === "string" ? [...Buffer.from(bytes, "utf8")] : bytes;
  return [...varint((field << 3) | 2), ...varint(b.length), ...b];
}

// ModelProto: y = Relu(x), x and y float[1], opset 13.
function trivial_model() {
  const value_info = (name) =>
    field_bytes(1, name).concat(
      // TypeProto.tensor_type { elem_type FLOAT, shape { dim { dim_value 1 } } }
      field_bytes(2, field_bytes(1, [...field_varint(1, 1), ...field_bytes(2, field_bytes(1, field_varint(1, 1)))])),
    );
  const node = [...field_bytes(1, "x"), ...field_bytes(2, "y"), ...field_bytes(4, "Relu")];
  const graph = [...field_bytes(1, node), ...field_bytes(2, "g"), ...field_bytes(11, value_info("x")),
    ...field_bytes(12, value_info("y"))];
  const opset = [...field_bytes(1, ""), ...field_varint(2, 13)];
  return Uint8Array.from([...field_varint(1, 7), ...field_bytes(7, graph), ...field_bytes(8, opset)]);
}

// Linear interpolation between order statistics, as tools/cmd_bench.cc does.
function percentile(sorted, p) {
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

// The input's shape: --shape when given, else the model's own dims when all are fixed.
function input_dims(session, name, index, shapes) {
  if (shapes[name]) return shapes[name];
  const meta = session.inputMetadata?.[index];
  const dims = meta?.shape;
  if (dims && dims.every((d) => typeof d === "number" && d > 0)) return dims;
  throw new Error(`input '${name}' has open dimensions (${JSON.stringify(dims)}); give --shape ${name}=DIMS`);
}

function make_feeds(session, shapes) {
  for (const name of Object.keys(shapes)) {
    if (!session.inputNames.includes(name)) {
      throw new Error(`no input '${name}' (inputs: ${session.inputNames.join(", ")})`);
    }
  }
  const rand = make_rng(1);
  const feeds = {};
  session.inputNames.forEach((name, index) => {
    const type = session.inputMetadata?.[index]?.type ?? "float32";
    if (type !== "float32") throw new Error(`input '${name}' is ${type}; only float32 inputs are generated`);
    const dims = input_dims(session, name, index, shapes);
    const data = new Float32Array(dims.reduce((x, y) => x * y, 1));
    for (let i = 0; i < data.length; ++i) data[i] = rand() * 2 - 1;
    feeds[name] = new ort.Tensor("float32", data, dims);
  });
  return feeds;
}

async function bench(a) {
  const session = await ort.InferenceSession.create(a.overhead ? trivial_model() : a.model, {
    executionProviders: ["cpu"],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const feeds = make_feeds(session, a.shapes);
  for (let i = 0; i < a.warmup; ++i) await session.run(feeds);
  const ms = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < a.iterations; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const wall_s = Number(process.hrtime.bigint() - start) / 1e9;
  const sorted = [...ms].sort((x, y) => x - y);
  return {
    model: a.overhead ? "(trivial Relu model)" : a.model, runtime: `onnxruntime-node ${ort.env.versions?.common ?? "?"}`,
    threads: a.threads, iterations: ms.length, min_ms: sorted[0], p50_ms: percentile(sorted, 50),
    p90_ms: percentile(sorted, 90), p99_ms: percentile(sorted, 99), max_ms: sorted[sorted.length - 1],
    mean_ms: ms.reduce((x, y) => x + y, 0) / ms.length, throughput_fps: ms.length / wall_s,
  };
}

function print_text(r) {
  const f = (x) => x.toFixed(3);
  console.log(`model ${r.model}, ${r.runtime}, ${r.threads} thread(s), ${r.iterations} iterations`);
  console.log(`latency ms: min ${f(r.min_ms)}  p50 ${f(r.p50_ms)}  p90 ${f(r.p90_ms)}  p99 ${f(r.p99_ms)}` +
    `  max ${f(r.max_ms)}  mean ${f(r.mean_ms)}`);
  console.log(`throughput: ${r.throughput_fps.toFixed(2)} inferences/s`);
}

async function main(argv) {
  let a;
  try {
    a = parse_args(argv);
  } catch (err) {
    console.error(`ort_bench: ${err.message}\n${USAGE}`);
    return 2;
  }
  const r = await bench(a);
  if (a.json) console.log(JSON.stringify(r));
  else print_text(r);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`ort_bench: ${err.message}`);
    process.exit(1);
  },
);
