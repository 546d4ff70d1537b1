#!/usr/bin/python3
"""Exports architecture-faithful models with random weights to ONNX for the
ONNX Runtime agreement check (tests/models/torch_agreement.sh, docs/oracle.md).

Needs Debian 12's python3-torch (1.13.1) and python3-torchvision (0.14.1); run
through scripts/export-models.sh, which installs them. Writes into models/ (or
the directory given as the first argument) and skips files already there.

Every model is seeded, so a rerun on the same machine writes identical bytes.
BatchNorm layers get non-trivial running statistics (measured on seeded noise in
training mode, see calibrate_batchnorm) and are exported as BatchNormalization
nodes: torch's default eval export would fuse them into the convolutions, and
then a wrong BatchNormalization kernel could never be caught.
"""
import hashlib
import os
import sys
import time
import warnings

import torch
import torch.nn as nn
import torchvision

kSeed = 20240501
kCalibrationBatches = 6


# --- shared building blocks ---------------------------------------------------

class ConvBnSiLU(nn.Module):
    """Conv2d without bias, BatchNorm, SiLU: the 'Conv' unit of YOLOv5 and v8."""

    def __init__(self, c_in, c_out, k=1, s=1, p=None):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, k // 2 if p is None else p, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    """Two convolutions with an optional residual; k1 is 1 in v5 and 3 in v8."""

    def __init__(self, c_in, c_out, shortcut, k1):
        super().__init__()
        self.cv1 = ConvBnSiLU(c_in, c_out, k1)
        self.cv2 = ConvBnSiLU(c_out, c_out, 3)
        self.add = shortcut and c_in == c_out

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: three chained 5x5 stride-1 max pools."""

    def __init__(self, c_in, c_out):
        super().__init__()
        hidden = c_in // 2
        self.cv1 = ConvBnSiLU(c_in, hidden, 1)
        self.cv2 = ConvBnSiLU(hidden * 4, c_out, 1)
        self.pool = nn.MaxPool2d(kernel_size=5, stride=1, padding=2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        return self.cv2(torch.cat((x, y1, y2, self.pool(y2)), 1))


def upsample():
    return nn.Upsample(scale_factor=2, mode="nearest")


# --- YOLOv5s (v6 layout: no Focus, SPPF) ----------------------------------------

class C3(nn.Module):
    """CSP block: two 1x1 branches, bottlenecks on one, concat, 1x1 fuse."""

    def __init__(self, c_in, c_out, n, shortcut=True):
        super().__init__()
        hidden = c_out // 2
        self.cv1 = ConvBnSiLU(c_in, hidden, 1)
        self.cv2 = ConvBnSiLU(c_in, hidden, 1)
        self.cv3 = ConvBnSiLU(2 * hidden, c_out, 1)
        self.m = nn.Sequential(*(Bottleneck(hidden, hidden, shortcut, 1) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class DetectV5(nn.Module):
    """Anchor-based head: per scale a 1x1 conv to 3 x 85, decoded to pixels."""

    kAnchors = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))
    kStrides = (8, 16, 32)

    def __init__(self, channels, num_classes, image_size):
        super().__init__()
        self.outputs = num_classes + 5
        self.m = nn.ModuleList(nn.Conv2d(c, 3 * self.outputs, 1) for c in channels)
        # Grids and anchors are constants of the exported graph, as in the real model.
        for i, stride in enumerate(self.kStrides):
            size = image_size // stride
            ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
            grid = torch.stack((xs, ys), 2).view(1, 1, size, size, 2).float() - 0.5
            anchors = torch.tensor(self.kAnchors[i], dtype=torch.float32).view(1, 3, 1, 1, 2)
            self.register_buffer(f"grid{i}", grid)
            self.register_buffer(f"anchor_grid{i}", anchors.expand(1, 3, size, size, 2).contiguous())

    def forward(self, features):
        decoded = []
        for i, x in enumerate(features):
            x = self.m[i](x)
            _, _, ny, nx = x.shape
            x = x.view(1, 3, self.outputs, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            y = x.sigmoid()
            xy = (y[..., 0:2] * 2 + getattr(self, f"grid{i}")) * self.kStrides[i]
            wh = (y[..., 2:4] * 2) ** 2 * getattr(self, f"anchor_grid{i}")
            y = torch.cat((xy, wh, y[..., 4:]), -1)
            decoded.append(y.view(1, -1, self.outputs))
        return torch.cat(decoded, 1)


class YoloV5s(nn.Module):
    """YOLOv5 v6 's' scale: depth 0.33, width 0.50 of the base 64..1024 channels."""

    def __init__(self, num_classes=80, image_size=640):
        super().__init__()
        self.b0 = ConvBnSiLU(3, 32, 6, 2, 2)
        self.b1 = ConvBnSiLU(32, 64, 3, 2)
        self.b2 = C3(64, 64, 1)
        self.b3 = ConvBnSiLU(64, 128, 3, 2)
        self.b4 = C3(128, 128, 2)
        self.b5 = ConvBnSiLU(128, 256, 3, 2)
        self.b6 = C3(256, 256, 3)
        self.b7 = ConvBnSiLU(256, 512, 3, 2)
        self.b8 = C3(512, 512, 1)
        self.b9 = SPPF(512, 512)
        self.h10 = ConvBnSiLU(512, 256, 1)
        self.h13 = C3(512, 256, 1, shortcut=False)
        self.h14 = ConvBnSiLU(256, 128, 1)
        self.h17 = C3(256, 128, 1, shortcut=False)
        self.h18 = ConvBnSiLU(128, 128, 3, 2)
        self.h20 = C3(256, 256, 1, shortcut=False)
        self.h21 = ConvBnSiLU(256, 256, 3, 2)
        self.h23 = C3(512, 512, 1, shortcut=False)
        self.up = upsample()
        self.detect = DetectV5((128, 256, 512), num_classes, image_size)

    def forward(self, x):
        p3 = self.b4(self.b3(self.b2(self.b1(self.b0(x)))))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        t10 = self.h10(p5)
        t14 = self.h14(self.h13(torch.cat((self.up(t10), p4), 1)))
        out3 = self.h17(torch.cat((self.up(t14), p3), 1))
        out4 = self.h20(torch.cat((self.h18(out3), t14), 1))
        out5 = self.h23(torch.cat((self.h21(out4), t10), 1))
        return self.detect((out3, out4, out5))


# --- YOLOv8n --------------------------------------------------------------------

class C2f(nn.Module):
    """1x1 conv split in two halves; each bottleneck feeds on the last piece; all concatenated."""

    def __init__(self, c_in, c_out, n, shortcut=False):
        super().__init__()
        self.hidden = c_out // 2
        self.cv1 = ConvBnSiLU(c_in, 2 * self.hidden, 1)
        self.cv2 = ConvBnSiLU((2 + n) * self.hidden, c_out, 1)
        self.m = nn.ModuleList(Bottleneck(self.hidden, self.hidden, shortcut, 3) for _ in range(n))

    def forward(self, x):
        pieces = list(self.cv1(x).split((self.hidden, self.hidden), 1))
        for block in self.m:
            pieces.append(block(pieces[-1]))
        return self.cv2(torch.cat(pieces, 1))


class DetectV8(nn.Module):
    """Anchor-free decoupled head; boxes as distributions over 16 bins (DFL)."""

    kStrides = (8, 16, 32)
    kBins = 16

    def __init__(self, channels, num_classes, image_size):
        super().__init__()
        self.num_classes = num_classes
        box_c = max(16, channels[0] // 4, 4 * self.kBins)
        cls_c = max(channels[0], min(num_classes, 100))
        self.box = nn.ModuleList(
            nn.Sequential(ConvBnSiLU(c, box_c, 3), ConvBnSiLU(box_c, box_c, 3), nn.Conv2d(box_c, 4 * self.kBins, 1))
            for c in channels)
        self.cls = nn.ModuleList(
            nn.Sequential(ConvBnSiLU(c, cls_c, 3), ConvBnSiLU(cls_c, cls_c, 3), nn.Conv2d(cls_c, num_classes, 1))
            for c in channels)
        # DFL: the expectation over bins as a fixed 1x1 convolution with weights 0..15.
        self.dfl = nn.Conv2d(self.kBins, 1, 1, bias=False).requires_grad_(False)
        self.dfl.weight.data[:] = torch.arange(self.kBins, dtype=torch.float32).view(1, self.kBins, 1, 1)
        points, strides = [], []
        for stride in self.kStrides:
            size = image_size // stride
            ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
            points.append(torch.stack((xs, ys), 0).view(2, -1))
            strides.append(torch.full((1, size * size), float(stride)))
        self.register_buffer("anchor_points", torch.cat(points, 1).unsqueeze(0))
        self.register_buffer("anchor_strides", torch.cat(strides, 1).unsqueeze(0))

    def forward(self, features):
        flat = []
        for i, x in enumerate(features):
            y = torch.cat((self.box[i](x), self.cls[i](x)), 1)
            flat.append(y.view(1, 4 * self.kBins + self.num_classes, -1))
        y = torch.cat(flat, 2)
        box, cls = y.split((4 * self.kBins, self.num_classes), 1)
        anchors = box.shape[2]
        dist = box.view(1, 4, self.kBins, anchors).transpose(2, 1).softmax(1)
        dist = self.dfl(dist).view(1, 4, anchors)
        left_top, right_bottom = dist.chunk(2, 1)
        x1y1 = self.anchor_points - left_top
        x2y2 = self.anchor_points + right_bottom
        boxes = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * self.anchor_strides
        return torch.cat((boxes, cls.sigmoid()), 1)


class YoloV8n(nn.Module):
    """YOLOv8 'n' scale: depth 0.33, width 0.25 of the base 64..1024 channels."""

    def __init__(self, num_classes=80, image_size=640):
        super().__init__()
        self.b0 = ConvBnSiLU(3, 16, 3, 2)
        self.b1 = ConvBnSiLU(16, 32, 3, 2)
        self.b2 = C2f(32, 32, 1, shortcut=True)
        self.b3 = ConvBnSiLU(32, 64, 3, 2)
        self.b4 = C2f(64, 64, 2, shortcut=True)
        self.b5 = ConvBnSiLU(64, 128, 3, 2)
        self.b6 = C2f(128, 128, 2, shortcut=True)
        self.b7 = ConvBnSiLU(128, 256, 3, 2)
        self.b8 = C2f(256, 256, 1, shortcut=True)
        self.b9 = SPPF(256, 256)
        self.h12 = C2f(384, 128, 1)
        self.h15 = C2f(192, 64, 1)
        self.h16 = ConvBnSiLU(64, 64, 3, 2)
        self.h18 = C2f(192, 128, 1)
        self.h19 = ConvBnSiLU(128, 128, 3, 2)
        self.h21 = C2f(384, 256, 1)
        self.up = upsample()
        self.detect = DetectV8((64, 128, 256), num_classes, image_size)

    def forward(self, x):
        p3 = self.b4(self.b3(self.b2(self.b1(self.b0(x)))))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        t12 = self.h12(torch.cat((self.up(p5), p4), 1))
        out3 = self.h15(torch.cat((self.up(t12), p3), 1))
        out4 = self.h18(torch.cat((self.h16(out3), t12), 1))
        out5 = self.h21(torch.cat((self.h19(out4), p5), 1))
        return self.detect((out3, out4, out5))


# --- export ---------------------------------------------------------------------

def smooth_noise(gen, size):
    """Noise at 8x8 scaled up bilinearly: large flat areas and soft edges, like
    photos; calibrating on white noise alone saturates the detectors' sigmoids
    on real-looking images."""
    low = torch.rand(1, 3, 8, 8, generator=gen)
    return nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)


def calibrate_batchnorm(model, size, seed):
    """Gives every BatchNorm the running statistics of seeded inputs (white and
    smooth noise, alternately), and random affine parameters, so that no
    BatchNormalization is an identity and activations keep a sane scale through
    the depth of the network."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the calibration batches
            m.reset_running_stats()
            with torch.no_grad():
                m.weight.copy_(0.75 + 0.5 * torch.rand(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
    model.train()
    with torch.no_grad():
        for i in range(kCalibrationBatches):
            # Batch 1: the detectors' decoding is written for one image at the export size.
            model(torch.rand(1, 3, size, size, generator=gen) if i % 2 == 0 else smooth_noise(gen, size))
    model.eval()


def export(model, path, size, opset, input_name, output_name):
    sample = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(kSeed + 1))
    with torch.no_grad():
        expected_shape = tuple(model(sample).shape)
    tmp = path + ".tmp"
    # The warning is about models in training mode, where folding would bake in
    # batch statistics; these models are in eval mode.
    warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")
    # PRESERVE with a model in eval mode: BatchNorm is exported as inference-mode
    # BatchNormalization instead of being folded into the preceding Conv.
    torch.onnx.export(
        model, sample, tmp, opset_version=opset, input_names=[input_name], output_names=[output_name],
        do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE)
    os.replace(tmp, path)
    return expected_shape


def classifier(factory):
    def build():
        return factory(weights=None)
    return build


# name -> (builder, input size, opset, input name, output name)
kModels = {
    "resnet50.onnx": (classifier(torchvision.models.resnet50), 224, 13, "input", "output"),
    "mobilenet_v2.onnx": (classifier(torchvision.models.mobilenet_v2), 224, 13, "input", "output"),
    # opset 17 is the newest torch 1.13 exports; HardSwish is a native op from 14 on.
    "mobilenet_v3_large.onnx": (classifier(torchvision.models.mobilenet_v3_large), 224, 17, "input", "output"),
    "yolov5s.onnx": (YoloV5s, 640, 13, "images", "output0"),
    "yolov8n.onnx": (YoloV8n, 640, 13, "images", "output0"),
}


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main(argv):
    dest = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
    dest = os.path.abspath(dest)
    os.makedirs(dest, exist_ok=True)
    # One thread: the calibration statistics then do not depend on how the work is split.
    torch.set_num_threads(1)
    print(f"export-models: torch {torch.__version__}, torchvision {torchvision.__version__}")
    for index, (name, (build, size, opset, in_name, out_name)) in enumerate(kModels.items()):
        path = os.path.join(dest, name)
        if os.path.exists(path):
            print(f"export-models: {name} present, skipped ({os.path.getsize(path)} bytes, sha256 {sha256_of(path)})")
            continue
        start = time.monotonic()
        torch.manual_seed(kSeed + index)
        model = build()
        calibrate_batchnorm(model, size, kSeed + 100 + index)
        shape = export(model, path, size, opset, in_name, out_name)
        elapsed = time.monotonic() - start
        print(f"export-models: {name} opset {opset} {in_name}=1x3x{size}x{size} -> {out_name}={list(shape)} "
              f"{os.path.getsize(path)} bytes sha256 {sha256_of(path)} ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
