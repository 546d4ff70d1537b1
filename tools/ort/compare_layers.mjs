#!/usr/bin/env node
// Joins `edgepipe bench --steps --json` with ort_layers.mjs's per-node times: each ONNX
// Runtime node is charged to the edgepipe step that computes the same part of the model,
// and the table lists the steps by how much more time edgepipe spends on them than ORT.
//
// An ORT node is named after an ONNX node, or (when ORT fused it) after the tensor it
// produces, with "_nchwc" for its blocked-layout kernels, or "<ONNX node>/<Name>Fusion/". Either way it leads to an ONNX node
// of the source model (source_nodes in edgepipe's JSON). That node is a step itself, or
// edgepipe folded it into the step upstream (a BatchNormalization, activation or affine
// folded into a convolution): its first input is followed up, at most 8 nodes, to the
// nearest ONNX node that is a step. What leads nowhere (ORT's layout reorders, edgepipe's
// layout transposes) is listed apart.
// Usage: node compare_layers.mjs EDGEPIPE_JSON ORT_JSON [--top N]
import { readFileSync } from "node:fs";

function main(argv) {
  const files = [];
  let top = 25;
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === "--top") {
      top = Number(argv[++i]);
      if (!Number.isInteger(top) || top < 1) throw new Error("--top wants a positive integer");
    } else files.push(argv[i]);
  }
  if (files.length !== 2) throw new Error("usage: compare_layers.mjs EDGEPIPE_JSON ORT_JSON [--top N]");
  const ep = JSON.parse(readFileSync(files[0], "utf8"));
  const ort = JSON.parse(readFileSync(files[1], "utf8"));
  if (!Array.isArray(ep.step_list) || !Array.isArray(ep.source_nodes)) {
    throw new Error(`${files[0]}: no step_list/source_nodes (edgepipe bench --steps --json)`);
  }

  const source = new Map(ep.source_nodes.map((n) => [n.name, n]));
  const producer = new Map();  // tensor -> source node
  for (const n of ep.source_nodes) for (const t of n.outputs) if (t) producer.set(t, n);
  const rows = ep.step_list.map((s, index) => ({ ...s, index, ort_ms: 0, ort_nodes: [] }));
  const step_of = new Map();  // source node name -> row
  for (const r of rows) if (source.has(r.node)) step_of.set(r.node, r);

  const unmatched = new Map();  // ORT op -> {ms, count}
  let matched_ms = 0;
  for (const n of ort.nodes) {
    // A node ORT made by a fusion is named "<ONNX node>/<Fusion>/" (QuickGelu from x*sigmoid(x)).
    const base = n.name.replace(/\/[A-Za-z]+Fusion\/$/, "");
    let src = source.get(base) ?? producer.get(base.replace(/_nchwc$/, "")) ?? null;
    let row = null;
    for (let hops = 0; src && hops <= 8 && !row; ++hops) {
      row = step_of.get(src.name) ?? null;
      if (!row) src = src.inputs[0] ? producer.get(src.inputs[0]) ?? null : null;
    }
    if (row) {
      row.ort_ms += n.median_ms;
      row.ort_nodes.push(n.op);
      matched_ms += n.median_ms;
    } else {
      const u = unmatched.get(n.op) ?? { ms: 0, count: 0 };
      u.ms += n.median_ms;
      u.count += 1;
      unmatched.set(n.op, u);
    }
  }

  const f = (x) => x.toFixed(3);
  const ep_total = rows.reduce((s, r) => s + r.mean_ms, 0);
  const ort_total = ort.nodes.reduce((s, n) => s + n.median_ms, 0);
  const shape = (r) => (r.output_shapes?.[0] ?? []).join("x");
  console.log(`edgepipe: ${ep.model}, ${ep.threads} thread(s), p50 ${f(ep.p50_ms)} ms, steps sum ${f(ep_total)} ms`);
  console.log(`${ort.runtime}: ${ort.threads} thread(s), run median ${f(ort.run_median_ms)} ms (profiling on), nodes sum ${f(ort_total)} ms`);
  console.log(`ORT time charged to a step: ${f(matched_ms)} ms (${((100 * matched_ms) / Math.max(ort_total, 1e-9)).toFixed(1)}%)`);
  console.log("");
  console.log(`Steps where edgepipe spends the most over ORT (top ${top}; ORT's nodes per step in brackets):`);
  console.log("| # | step | op | kernel | shape | edgepipe ms | ORT ms | ratio | ORT nodes |");
  console.log("|---:|---|---|---|---|---:|---:|---:|---|");
  const sorted = [...rows].sort((x, y) => y.mean_ms - y.ort_ms - (x.mean_ms - x.ort_ms));
  for (const r of sorted.slice(0, top)) {
    const ratio = r.ort_ms > 0 ? (r.mean_ms / r.ort_ms).toFixed(2) : "-";
    const ops = [...new Set(r.ort_nodes)].join("+");
    console.log(`| ${r.index} | ${r.node} | ${r.op} | ${r.kernel} | ${shape(r)} | ${f(r.mean_ms)} | ${f(r.ort_ms)} | ${ratio} | ${ops} |`);
  }
  const by_op = new Map();
  for (const r of rows) {
    const k = `${r.op} (${r.kernel})`;
    const v = by_op.get(k) ?? { ep: 0, ort: 0 };
    v.ep += r.mean_ms;
    v.ort += r.ort_ms;
    by_op.set(k, v);
  }
  console.log("");
  console.log("By edgepipe op (ORT time of the nodes charged to those steps):");
  console.log("| op (kernel) | edgepipe ms | ORT ms |");
  console.log("|---|---:|---:|");
  for (const [k, v] of [...by_op.entries()].sort((x, y) => y[1].ep - x[1].ep)) console.log(`| ${k} | ${f(v.ep)} | ${f(v.ort)} |`);
  if (unmatched.size) {
    console.log("");
    console.log("ORT nodes charged to no step (its layout reorders, or nodes of parts edgepipe removed):");
    for (const [op, u] of [...unmatched.entries()].sort((x, y) => y[1].ms - x[1].ms)) {
      console.log(`- ${op}: ${u.count} node(s), ${f(u.ms)} ms`);
    }
  }
  console.log(`\nmatched_share ${(matched_ms / Math.max(ort_total, 1e-9)).toFixed(4)}`);
  return 0;
}

try {
  process.exit(main(process.argv.slice(2)));
} catch (err) {
  console.error(`compare_layers: ${err.message}`);
  process.exit(2);
}
