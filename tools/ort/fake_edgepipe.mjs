#!/usr/bin/env node
// Stands in for `edgepipe infer` so tests/models/ort_agreement.sh can be checked
// before edgepipe has that command: same arguments, outputs computed by ORT.
//   node fake_edgepipe.mjs infer MODEL --input x=FILE.npy --output-dir DIR
// To see the check fail on purpose:
//   EDGEPIPE_FAKE_PERTURB=X  adds X to every output element
//   EDGEPIPE_FAKE_FAIL=1     exits 1 without writing anything
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { npy_write } from "./npy.mjs";
import { ort_run } from "./ort_run.mjs";

async function main(argv) {
  const [command, model, ...rest] = argv;
  if (command !== "infer" || !model) throw new Error("usage: fake_edgepipe.mjs infer MODEL --input NAME=FILE.npy... --output-dir DIR");
  const bindings = [];
  let out_dir = null;
  for (let i = 0; i < rest.length; ++i) {
    if (rest[i] === "--input") bindings.push(rest[++i]);
    else if (rest[i] === "--output-dir") out_dir = rest[++i];
    else throw new Error(`unexpected argument '${rest[i]}'`);
  }
  if (!out_dir) throw new Error("--output-dir is required");
  if (process.env.EDGEPIPE_FAKE_FAIL === "1") throw new Error("failing on request (EDGEPIPE_FAKE_FAIL=1)");
  const perturb = Number(process.env.EDGEPIPE_FAKE_PERTURB || 0);
  mkdirSync(out_dir, { recursive: true });
  await ort_run(model, bindings, (name, dims, data) => {
    if (perturb !== 0) for (let i = 0; i < data.length; ++i) data[i] += perturb;
    npy_write(join(out_dir, `${name}.npy`), dims, data);
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`fake_edgepipe: ${err.message}`);
    process.exit(1);
  },
);
