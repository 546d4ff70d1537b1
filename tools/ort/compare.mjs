#!/usr/bin/env node
// Compares edgepipe outputs with ONNX Runtime's.
//   node compare.mjs close EXPECTED.npy ACTUAL.npy [--tol 1e-4] [--relative [--scale-axis A]]
//     fails on shape mismatch, NaN, or any |expected - actual| > tol, where with
//     --relative the bound is tol * max(1, max |expected|), the maximum taken over
//     the whole tensor or, with --scale-axis, per index along axis A.
//   node compare.mjs ctc --keys ppocr_keys_v1.txt REF.npy [GOT.npy] [--expect TEXT]
//     CTC greedy decode of 1xTxC rec outputs; with GOT, fails unless both decode
//     to the same string. --expect only reports whether REF matches TEXT.
// Exit status: 0 pass, 1 mismatch, 2 usage or file error.
import { readFileSync } from "node:fs";
import { npy_read } from "./npy.mjs";

function fmt_shape(shape) {
  return `[${shape.join("x")}]`;
}

// Per element, the magnitude |expected| is measured against: 0 without
// `relative`; with it, max |expected| over the whole tensor, or with scale_axis,
// over the elements that share the element's index along that axis (one scale
// per box coordinate or class column of a detector's output).
function magnitudes(a, relative, scale_axis) {
  const n = a.data.length;
  if (!relative) return () => 0;
  if (scale_axis === null) {
    let m = 0;
    for (let i = 0; i < n; ++i) m = Math.max(m, Math.abs(a.data[i]));
    return () => m;
  }
  const axis = scale_axis < 0 ? scale_axis + a.shape.length : scale_axis;
  if (axis < 0 || axis >= a.shape.length) throw new UsageError(`--scale-axis ${scale_axis} out of range for ${fmt_shape(a.shape)}`);
  const inner = a.shape.slice(axis + 1).reduce((x, y) => x * y, 1);
  const dim = a.shape[axis];
  const group = (i) => Math.floor(i / inner) % dim;
  const m = new Float64Array(dim);
  for (let i = 0; i < n; ++i) m[group(i)] = Math.max(m[group(i)], Math.abs(a.data[i]));
  return (i) => m[group(i)];
}

// Passes when every element has |expected - actual| <= tol * max(1, magnitude)
// (see magnitudes; without `relative` this is a plain max abs error bound).
function compare_close(expected_path, actual_path, tol, relative, scale_axis) {
  const a = npy_read(expected_path);
  const b = npy_read(actual_path);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    console.log(`shape mismatch: expected ${fmt_shape(a.shape)}, got ${fmt_shape(b.shape)}`);
    return 1;
  }
  const magnitude = magnitudes(a, relative, scale_axis);
  let max_err = 0;
  let worst = 0;
  // The largest error as a fraction of its element's allowance; over 1 fails.
  let max_ratio = 0;
  let worst_ratio_index = 0;
  for (let i = 0; i < a.data.length; ++i) {
    const err = Math.abs(a.data[i] - b.data[i]);
    // A NaN on either side is a failure, not something to skip.
    if (Number.isNaN(err)) {
      console.log(`NaN at flat index ${i}: expected ${a.data[i]}, got ${b.data[i]}`);
      return 1;
    }
    if (err > max_err) {
      max_err = err;
      worst = i;
    }
    const ratio = err / (tol * Math.max(1, magnitude(i)));
    if (ratio > max_ratio) {
      max_ratio = ratio;
      worst_ratio_index = i;
    }
  }
  const ok = max_ratio <= 1;
  let line = `max_abs_err=${max_err.toExponential(3)} tol=${tol.toExponential(1)}`;
  if (relative) {
    const i = worst_ratio_index;
    line += ` x max(1, max|ref|${scale_axis === null ? "" : ` per index on axis ${scale_axis}`})` +
      ` worst_err/allowed=${max_ratio.toExponential(2)}` +
      ` (flat index ${i}: expected ${a.data[i]}, got ${b.data[i]}, allowed ${(tol * Math.max(1, magnitude(i))).toExponential(2)})`;
  }
  line += ` shape=${fmt_shape(a.shape)}` + (max_err > 0 ? ` worst_index=${worst}` : "") + (ok ? "" : " FAIL");
  console.log(line);
  return ok ? 0 : 1;
}

// PaddleOCR's CTC label list: blank, then the dictionary lines, then a space.
function load_ctc_labels(keys_path) {
  let lines = readFileSync(keys_path, "utf8").split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  lines = lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  return ["", ...lines, " "];
}

function ctc_decode(path, labels) {
  const { shape, data } = npy_read(path);
  if (shape.length !== 3 || shape[0] !== 1) throw new Error(`${path}: shape ${fmt_shape(shape)}, expected 1xTxC`);
  const [, steps, classes] = shape;
  if (classes !== labels.length) {
    throw new Error(`${path}: ${classes} classes, the dictionary gives ${labels.length}`);
  }
  let text = "";
  let prev = -1;
  // The smallest gap between the top two scores at any step: a small one means
  // a legitimately tiny numeric difference could flip the decoded string.
  let margin = Infinity;
  for (let t = 0; t < steps; ++t) {
    const row = data.subarray(t * classes, (t + 1) * classes);
    let best = 0;
    let second = -Infinity;
    for (let c = 1; c < classes; ++c) {
      if (row[c] > row[best]) {
        second = row[best];
        best = c;
      } else if (row[c] > second) {
        second = row[c];
      }
    }
    margin = Math.min(margin, row[best] - second);
    if (best !== 0 && best !== prev) text += labels[best];
    prev = best;
  }
  return { text, margin };
}

function compare_ctc(args) {
  let keys = null;
  let expect = null;
  const files = [];
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === "--keys") keys = args[++i];
    else if (args[i] === "--expect") expect = args[++i];
    else files.push(args[i]);
  }
  if (!keys || files.length < 1 || files.length > 2 || (expect === null && args.includes("--expect"))) {
    throw new UsageError("ctc needs --keys KEYS.txt and one or two .npy files");
  }
  const labels = load_ctc_labels(keys);
  const { text: a, margin } = ctc_decode(files[0], labels);
  let line = `ref=${JSON.stringify(a)}`;
  let status = 0;
  if (files.length === 2) {
    const { text: b } = ctc_decode(files[1], labels);
    line += ` got=${JSON.stringify(b)}`;
    if (a !== b) {
      line += " FAIL (strings differ)";
      status = 1;
    }
  }
  if (expect !== null) line += a === expect ? " ref==expected" : ` ref!=expected(${JSON.stringify(expect)})`;
  console.log(`${line} min_top2_margin=${margin.toExponential(2)}`);
  return status;
}

class UsageError extends Error {}

function main(argv) {
  const [mode, ...rest] = argv;
  if (mode === "close") {
    const files = [];
    let tol = 1e-4;
    let relative = false;
    let scale_axis = null;
    for (let i = 0; i < rest.length; ++i) {
      if (rest[i] === "--tol") tol = Number(rest[++i]);
      else if (rest[i] === "--relative") relative = true;
      else if (rest[i] === "--scale-axis") scale_axis = Number(rest[++i]);
      else files.push(rest[i]);
    }
    if (files.length !== 2 || !Number.isFinite(tol) || tol <= 0 ||
        (scale_axis !== null && (!Number.isInteger(scale_axis) || !relative))) {
      throw new UsageError("close needs EXPECTED.npy ACTUAL.npy [--tol X] [--relative [--scale-axis A]]");
    }
    return compare_close(files[0], files[1], tol, relative, scale_axis);
  }
  if (mode === "ctc") return compare_ctc(rest);
  throw new UsageError("mode must be 'close' or 'ctc'");
}

try {
  process.exit(main(process.argv.slice(2)));
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`compare: ${err.message}`);
    console.error("usage: compare.mjs close EXPECTED.npy ACTUAL.npy [--tol 1e-4] [--relative [--scale-axis A]]");
    console.error("       compare.mjs ctc --keys KEYS.txt REF.npy [GOT.npy] [--expect TEXT]");
  } else {
    console.error(`compare: ${err.message}`);
  }
  process.exit(2);
}
