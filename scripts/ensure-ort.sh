#!/usr/bin/env bash
# Installs the ONNX Runtime oracle (tools/ort: onnxruntime-node and pureimage at
# the versions pinned in tools/ort/package.json) unless it is already there and
# loads. Quiet when present. ORT is a test tool, never a product dependency.
# Exit status: 0 ok, 1 installed but broken, 3 node/npm missing or install failed (offline?).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_DIR="$REPO_ROOT/tools/ort"

die() { echo "ensure-ort: ERROR: $*" >&2; exit 1; }
unavailable() { echo "ensure-ort: ERROR: $*" >&2; exit 3; }

command -v node >/dev/null 2>&1 || unavailable "node not found (scripts/install-deps.sh installs it)"

# Loads the native CPU binding and checks the installed versions match package.json.
check() {
  # shellcheck disable=SC2016 # the quoted text is JavaScript
  (cd "$ORT_DIR" && node --input-type=module -e '
    import { readFileSync } from "node:fs";
    import { createRequire } from "node:module";
    const require = createRequire(process.cwd() + "/");
    const want = JSON.parse(readFileSync("package.json", "utf8")).dependencies;
    for (const [name, version] of Object.entries(want)) {
      const got = JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")).version;
      if (got !== version) throw new Error(`${name} ${got} installed, ${version} pinned`);
    }
    const ort = require("onnxruntime-node");
    if (!ort.listSupportedBackends().some((b) => b.name === "cpu")) throw new Error("no cpu backend");
  ' >/dev/null 2>&1)
}

if check; then
  exit 0
fi

command -v npm >/dev/null 2>&1 || unavailable "npm not found (scripts/install-deps.sh installs it)"
echo "ensure-ort: installing tools/ort (onnxruntime-node, pureimage)"
# --ignore-scripts: the postinstall only fetches GPU providers we do not use.
(cd "$ORT_DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
  unavailable "npm install in $ORT_DIR failed (is the npm registry reachable?)"
check || die "onnxruntime-node installed but its CPU binding does not load (try: cd tools/ort && node -e 'require(\"onnxruntime-node\")')"
