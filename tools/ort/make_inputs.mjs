#!/usr/bin/env node
// Generates inputs for the PaddleOCR det, rec and cls models as float32 .npy
// files, preprocessed the way PaddleOCR's predict_det/predict_rec/predict_cls do.
// Usage: node make_inputs.mjs OUT_DIR [--font FILE.ttf] [--png]
// Writes OUT_DIR/{det,rec,cls}_<case>.npy and OUT_DIR/texts.json; --png also
// writes the rendered images (before normalization) for a human to look at.
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as PImage from "pureimage";
import { npy_write } from "./npy.mjs";
import { random_image } from "./rng.mjs";

const kDefaultFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const kRecHeight = 48;
const kRecWidth = 320;
const kClsWidth = 192;
const kDetSize = 640;
// DetResizeForTest/NormalizeImage: PaddleOCR applies these lists, in this order,
// to the channels of the BGR image cv2 gives it.
const kDetMean = [0.485, 0.456, 0.406];
const kDetStd = [0.229, 0.224, 0.225];

// Colours are [r, g, b]; coloured pairs make a B/R channel swap visible in the outputs.
const kThemes = {
  dark_on_light: { fg: [20, 20, 20], bg: [245, 245, 240] },
  light_on_dark: { fg: [250, 250, 250], bg: [25, 30, 40] },
  blue_on_yellow: { fg: [20, 40, 160], bg: [250, 235, 150] },
};

const kRecLines = [
  ["line1", "dark_on_light", "Hello World"],
  ["line2", "light_on_dark", "edgepipe 2024"],
  ["line3", "blue_on_yellow", "Invoice No 4417"],
  ["line4", "dark_on_light", "Total: 93.50"],
  ["line5", "light_on_dark", "quick brown fox"],
  ["line6", "blue_on_yellow", "PaddleOCR v4"],
];

const kClsLines = [
  ["upright", "dark_on_light", "Receipt", 0],
  ["upright_dark", "light_on_dark", "Sample 42", 0],
  ["flipped", "dark_on_light", "Receipt", 180],
];

// An RGB image as a packed Uint8Array, independent of pureimage's bitmap.
function rgb_from_bitmap(bitmap) {
  const { width, height, data } = bitmap;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; ++i) {
    rgb[i * 3] = data[i * 4];
    rgb[i * 3 + 1] = data[i * 4 + 1];
    rgb[i * 3 + 2] = data[i * 4 + 2];
  }
  return { width, height, rgb };
}

function css(color) {
  return `rgb(${color[0]},${color[1]},${color[2]})`;
}

// Renders one text line as a tight crop kRecHeight pixels tall, as det would cut it.
function render_line(text, theme, font_size = 34) {
  const probe = PImage.make(8, 8).getContext("2d");
  probe.font = `${font_size}px DejaVuSans`;
  const m = probe.measureText(text);
  const margin = 6;
  const width = Math.ceil(m.width) + 2 * margin;
  const bitmap = PImage.make(width, kRecHeight);
  const ctx = bitmap.getContext("2d");
  ctx.fillStyle = css(theme.bg);
  ctx.fillRect(0, 0, width, kRecHeight);
  ctx.fillStyle = css(theme.fg);
  ctx.font = `${font_size}px DejaVuSans`;
  const text_height = m.emHeightAscent - m.emHeightDescent;
  const baseline = (kRecHeight - text_height) / 2 + m.emHeightAscent;
  ctx.fillText(text, margin, baseline);
  return bitmap;
}

// cv2.resize INTER_LINEAR semantics: half-pixel centres, edge pixels clamped.
function resize_bilinear(img, out_w, out_h) {
  const out = new Uint8Array(out_w * out_h * 3);
  const sx = img.width / out_w;
  const sy = img.height / out_h;
  for (let y = 0; y < out_h; ++y) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(Math.floor(fy), img.height - 1);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < out_w; ++x) {
      const fx = Math.max(0, (x + 0.5) * sx - 0.5);
      const x0 = Math.min(Math.floor(fx), img.width - 1);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; ++c) {
        const p = (yy, xx) => img.rgb[(yy * img.width + xx) * 3 + c];
        const v = (1 - wy) * ((1 - wx) * p(y0, x0) + wx * p(y0, x1)) + wy * ((1 - wx) * p(y1, x0) + wx * p(y1, x1));
        out[(y * out_w + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return { width: out_w, height: out_h, rgb: out };
}

function rotate_180(img) {
  const n = img.width * img.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; ++i) rgb.set(img.rgb.subarray((n - 1 - i) * 3, (n - i) * 3), i * 3);
  return { width: img.width, height: img.height, rgb };
}

// PaddleOCR resize_norm_img (rec and cls): keep the aspect ratio at height 48,
// squash to the target width only when wider, scale to [-1, 1] and pad the
// right side with 0 (after normalization). Channels stay in BGR order.
function preprocess_line(img, target_w) {
  const resized_w = Math.min(target_w, Math.ceil(kRecHeight * (img.width / img.height)));
  const r = resize_bilinear(img, resized_w, kRecHeight);
  const plane = kRecHeight * target_w;
  const out = new Float32Array(3 * plane);
  for (let y = 0; y < kRecHeight; ++y) {
    for (let x = 0; x < resized_w; ++x) {
      for (let c = 0; c < 3; ++c) {
        const v = r.rgb[(y * resized_w + x) * 3 + (2 - c)]; // c=0 is B
        out[c * plane + y * target_w + x] = (v / 255 - 0.5) / 0.5;
      }
    }
  }
  return { shape: [1, 3, kRecHeight, target_w], data: out };
}

// PaddleOCR det: BGR, x/255, (x - mean[c]) / std[c], NCHW. 640 is already a multiple of 32.
function preprocess_det(img) {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; ++i) {
    for (let c = 0; c < 3; ++c) {
      const v = img.rgb[i * 3 + (2 - c)];
      out[c * plane + i] = (v / 255 - kDetMean[c]) / kDetStd[c];
    }
  }
  return { shape: [1, 3, img.height, img.width], data: out };
}

// Several words at sizes from 18 to 64 px laid out in rows; returns the boxes too.
function render_det_scene(theme) {
  const words = [
    ["Invoice", 64], ["2024", 40], ["edgepipe", 48], ["Total", 28], ["93.50", 28],
    ["quick", 36], ["brown", 22], ["fox", 56], ["Hello", 18], ["World", 18], ["OCR", 44],
  ];
  const bitmap = PImage.make(kDetSize, kDetSize);
  const ctx = bitmap.getContext("2d");
  ctx.fillStyle = css(theme.bg);
  ctx.fillRect(0, 0, kDetSize, kDetSize);
  ctx.fillStyle = css(theme.fg);
  const boxes = [];
  let x = 40;
  let row_top = 40;
  let row_height = 0;
  for (const [text, size] of words) {
    ctx.font = `${size}px DejaVuSans`;
    const m = ctx.measureText(text);
    const w = Math.ceil(m.width);
    const h = Math.ceil(m.emHeightAscent - m.emHeightDescent);
    if (x + w > kDetSize - 40) {
      x = 40;
      row_top += row_height + 36;
      row_height = 0;
    }
    ctx.fillText(text, x, row_top + m.emHeightAscent);
    boxes.push({ text, x0: x, y0: row_top, x1: x + w, y1: row_top + h });
    x += w + 48;
    row_height = Math.max(row_height, h);
  }
  if (row_top + row_height > kDetSize) throw new Error("det scene does not fit in 640x640");
  return { bitmap, boxes };
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
  let font_path = process.env.EDGEPIPE_FONT || kDefaultFont;
  let want_png = false;
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === "--font") font_path = argv[++i];
    else if (argv[i] === "--png") want_png = true;
    else if (out_dir === null) out_dir = argv[i];
    else throw new Error(`unexpected argument '${argv[i]}'`);
  }
  if (!out_dir) {
    console.error("usage: make_inputs.mjs OUT_DIR [--font FILE.ttf] [--png]");
    return 2;
  }
  PImage.registerFont(font_path, "DejaVuSans").loadSync();
  mkdirSync(out_dir, { recursive: true });

  const pngs = [];
  const emit = (name, img, tensor) => {
    npy_write(join(out_dir, `${name}.npy`), tensor.shape, tensor.data);
    if (want_png) pngs.push([name, img]);
  };
  const texts = { rec: {}, cls: {}, det: {} };

  for (const [theme_name, theme] of Object.entries(kThemes)) {
    const { bitmap, boxes } = render_det_scene(theme);
    const img = rgb_from_bitmap(bitmap);
    emit(`det_${theme_name}`, img, preprocess_det(img));
    texts.det[`det_${theme_name}`] = boxes;
  }
  const det_noise = random_image(kDetSize, kDetSize, 1);
  emit("det_random", det_noise, preprocess_det(det_noise));

  for (const [name, theme, text] of kRecLines) {
    const img = rgb_from_bitmap(render_line(text, kThemes[theme]));
    emit(`rec_${name}`, img, preprocess_line(img, kRecWidth));
    texts.rec[`rec_${name}`] = text;
  }
  const rec_noise = random_image(kRecWidth, kRecHeight, 2);
  emit("rec_random", rec_noise, preprocess_line(rec_noise, kRecWidth));

  for (const [name, theme, text, angle] of kClsLines) {
    let img = rgb_from_bitmap(render_line(text, kThemes[theme]));
    if (angle === 180) img = rotate_180(img);
    emit(`cls_${name}`, img, preprocess_line(img, kClsWidth));
    texts.cls[`cls_${name}`] = { text, angle };
  }
  const cls_noise = random_image(kClsWidth, kRecHeight, 3);
  emit("cls_random", cls_noise, preprocess_line(cls_noise, kClsWidth));

  writeFileSync(join(out_dir, "texts.json"), JSON.stringify(texts, null, 1) + "\n");
  for (const [name, img] of pngs) {
    await PImage.encodePNGToStream(png_of(img), createWriteStream(join(out_dir, `${name}.png`)));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`make_inputs: ${err.message}`);
    process.exit(1);
  },
);
