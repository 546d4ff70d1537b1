#!/usr/bin/env node
// Generates the inputs for the random-weight torch models (scripts/export-models.py)
// as float32 .npy files: for each preprocessing, one synthetic scene and one
// seeded noise image.
// Usage: node make_torch_inputs.mjs OUT_DIR [--png]
//   imagenet_{scene,random}.npy  1x3x224x224, RGB, (x/255 - mean) / std with
//                                ImageNet mean/std (torchvision classifiers)
//   yolo_{scene,random}.npy      1x3x640x640, RGB, x/255 (YOLOv5/v8 after letterbox)
// Output is the same on every run; --png also writes the images before normalization.
import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import * as PImage from "pureimage";
import { npy_write } from "./npy.mjs";
import { random_image } from "./rng.mjs";

// torchvision's ImageNet normalization, in RGB order.
const kImagenetMean = [0.485, 0.456, 0.406];
const kImagenetStd = [0.229, 0.224, 0.225];

// A scene with smooth gradients, flat regions and sharp edges at every scale:
// sky, ground, a sun, a house and a few thin bars. Coordinates are fractions of
// the side so both sizes show the same picture.
function render_scene(size) {
  const bitmap = PImage.make(size, size);
  const ctx = bitmap.getContext("2d");
  const s = (f) => Math.round(f * size);
  for (let y = 0; y < size; ++y) {
    const t = y / size;
    ctx.fillStyle = t < 0.6
      ? `rgb(${Math.round(90 + 120 * t)},${Math.round(150 + 80 * t)},235)`
      : `rgb(${Math.round(70 + 60 * t)},${Math.round(140 - 60 * t)},40)`;
    ctx.fillRect(0, y, size, 1);
  }
  ctx.fillStyle = "rgb(250,210,60)";
  ctx.beginPath();
  ctx.arc(s(0.8), s(0.18), s(0.09), 0, Math.PI * 2);
  ctx.fill();
  ctx.fillStyle = "rgb(180,40,30)";
  ctx.fillRect(s(0.15), s(0.45), s(0.3), s(0.25));
  ctx.fillStyle = "rgb(240,240,230)";
  ctx.fillRect(s(0.25), s(0.55), s(0.08), s(0.15));
  ctx.fillStyle = "rgb(30,30,120)";
  for (let i = 0; i < 6; ++i) ctx.fillRect(s(0.55 + 0.06 * i), s(0.5), Math.max(1, s(0.01 * (i + 1))), s(0.3));
  const img = { width: size, height: size, rgb: new Uint8Array(size * size * 3) };
  for (let i = 0; i < size * size; ++i) img.rgb.set(bitmap.data.subarray(i * 4, i * 4 + 3), i * 3);
  return img;
}

// NCHW float32 in RGB order: (x/255 - mean[c]) / std[c].
function normalize(img, mean, std) {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; ++i) {
    for (let c = 0; c < 3; ++c) out[c * plane + i] = (img.rgb[i * 3 + c] / 255 - mean[c]) / std[c];
  }
  return { shape: [1, 3, img.height, img.width], data: out };
}

function png_of(img) {
  const bitmap = PImage.make(img.width, img.height);
  for (let i = 0; i < img.width * img.height; ++i) {
    bitmap.data.set(img.rgb.subarray(i * 3, i * 3 + 3), i * 4);
    bitmap.data[i * 4 + 3] = 255;
  }
  return bitmap;
}

async function main(argv) {
  let out_dir = null;
  let want_png = false;
  for (const arg of argv) {
    if (arg === "--png") want_png = true;
    else if (out_dir === null) out_dir = arg;
    else throw new Error(`unexpected argument '${arg}'`);
  }
  if (!out_dir) {
    console.error("usage: make_torch_inputs.mjs OUT_DIR [--png]");
    return 2;
  }
  mkdirSync(out_dir, { recursive: true });
  const cases = [
    ["imagenet_scene", render_scene(224), kImagenetMean, kImagenetStd],
    ["imagenet_random", random_image(224, 224, 11), kImagenetMean, kImagenetStd],
    ["yolo_scene", render_scene(640), [0, 0, 0], [1, 1, 1]],
    ["yolo_random", random_image(640, 640, 12), [0, 0, 0], [1, 1, 1]],
  ];
  for (const [name, img, mean, std] of cases) {
    const t = normalize(img, mean, std);
    npy_write(join(out_dir, `${name}.npy`), t.shape, t.data);
    if (want_png) await PImage.encodePNGToStream(png_of(img), createWriteStream(join(out_dir, `${name}.png`)));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`make_torch_inputs: ${err.message}`);
    process.exit(1);
  },
);
