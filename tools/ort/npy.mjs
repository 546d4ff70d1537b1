// Minimal NumPy .npy reader and writer for little-endian float32 C-order arrays,
// the only kind the oracle exchanges with edgepipe. Anything else is rejected
// with a message naming the file, never guessed at.
import { readFileSync, writeFileSync } from "node:fs";

const kMagic = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

// Writes format version 1.0; the header is padded so data starts on a 64-byte boundary.
export function npy_write(path, shape, data) {
  if (!(data instanceof Float32Array)) throw new Error(`${path}: npy_write wants a Float32Array`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`${path}: shape [${shape}] has ${count} elements, data has ${data.length}`);
  const shape_text = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape_text}, }`;
  const unpadded = kMagic.length + 2 + 2 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const prefix = Buffer.alloc(kMagic.length + 4);
  kMagic.copy(prefix, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, "latin1"), body]));
}

// Returns { shape: number[], data: Float32Array }. Accepts versions 1, 2 and 3.
export function npy_read(path) {
  const buf = readFileSync(path);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(kMagic)) throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  let header_len;
  let offset;
  if (major === 1) {
    header_len = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${path}: truncated header`);
    header_len = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new Error(`${path}: unsupported .npy version ${major}`);
  }
  if (offset + header_len > buf.length) throw new Error(`${path}: truncated header`);
  const header = buf.subarray(offset, offset + header_len).toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape_match = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape_match) throw new Error(`${path}: malformed header ${JSON.stringify(header)}`);
  if (descr[1] !== "<f4") throw new Error(`${path}: dtype ${descr[1]}, expected <f4 (float32)`);
  if (fortran[1] !== "False") throw new Error(`${path}: fortran_order arrays are not supported`);
  const shape = shape_match[1]
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      if (!/^\d+$/.test(s)) throw new Error(`${path}: bad dimension '${s}'`);
      return Number(s);
    });
  const count = shape.reduce((a, b) => a * b, 1);
  const data_start = offset + header_len;
  if (buf.length - data_start !== count * 4) {
    throw new Error(`${path}: shape [${shape}] needs ${count * 4} data bytes, file has ${buf.length - data_start}`);
  }
  // Copy so the Float32Array is aligned regardless of the header length.
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buf.subarray(data_start));
  return { shape, data };
}
