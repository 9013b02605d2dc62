#!/usr/bin/env python3
"""PyTorch's speed on glean's backbone: EfficientNet-Lite written here in plain PyTorch,
op for op as crates/learn/src/effnet_lite.rs builds it (the blocks read from the weights,
TensorFlow "SAME" padding, BatchNorm folded into the convolutions, (x - 127) / 128,
bilinear resize to the input side, mean-pooled 1280-d features), run on the same images
with the same thread count. `cargo bench --bench backbone` runs it and prints its
figure next to glean's and the ratio.

    python bench-effnet-pytorch.py WEIGHTS.safetensors IMAGES [--threads N]
        [--batch B] [--limit N] [--check FEATURES.f32] [--precision f32|bf16]
        [--channels-last] [--side S] [--input-side 224|260]

By default the plain port: float32, NCHW. `--precision bf16 --channels-last` runs it as
glean does on a CPU with native bfloat16.

IMAGES is a folder, walked for .jpg/.jpeg/.png files (sorted paths) decoded with
Pillow, or with --side S a raw file of decoded images (N x 3 x S x S bytes, CHW), such as
glean's bench writes so that both sides get the very same pixels. Decoding happens
before the clock starts, so the figure is the network alone. It prints one line of
JSON: images, threads, batch, seconds, images_per_s. With --check, it also compares its
features of the first images with glean's (raw little-endian f32 rows, 1280 each) and
prints the largest absolute difference.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

BN_EPS = 1e-3
# The stride of each stage's first block; a stage starts where the output width changes.
STAGE_STRIDES = [1, 2, 2, 2, 1, 2, 1]


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", name
        start, end = meta["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(blob[start:end], dtype="<f4").copy()).view(meta["shape"])
    return out


class Conv:
    def __init__(self, weight, bias, stride, groups):
        self.weight, self.bias, self.stride, self.groups = weight, bias, stride, groups

    def to(self, dtype, channels_last):
        self.weight, self.bias = self.weight.to(dtype), self.bias.to(dtype)
        if channels_last:
            self.weight = self.weight.contiguous(memory_format=torch.channels_last)

    def __call__(self, x):
        k = self.weight.shape[3]
        h, w = x.shape[2], x.shape[3]

        def pad(n):
            out = (n + self.stride - 1) // self.stride
            return max((out - 1) * self.stride + k - n, 0)

        ph, pw = pad(h), pad(w)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, 1, self.groups)


class EffnetLite:
    def __init__(self, path, dtype=torch.float32, channels_last=False, input_side=224):
        self.dtype, self.channels_last, self.input_side = dtype, channels_last, input_side
        w = read_safetensors(path)

        def conv(prefix, bn, stride, depthwise):
            weight = w[prefix + ".weight"]
            scale = w[bn + ".weight"] / torch.sqrt(w[bn + ".running_var"] + BN_EPS)
            bias = w[bn + ".bias"] - w[bn + ".running_mean"] * scale
            groups = weight.shape[0] if depthwise else 1
            return Conv(weight * scale.view(-1, 1, 1, 1), bias, stride, groups)

        self.stem = conv("_conv_stem", "_bn0", 2, False)
        self.blocks = []
        width, stage, index = 32, -1, 0
        while f"_blocks.{index}._project_conv.weight" in w:
            p = f"_blocks.{index}"
            out = w[p + "._project_conv.weight"].shape[0]
            if stage < 0 or out != width:
                stage += 1
                stride = STAGE_STRIDES[stage]
            else:
                stride = 1
            expands = p + "._expand_conv.weight" in w
            self.blocks.append(
                (
                    conv(p + "._expand_conv", p + "._bn0", 1, False) if expands else None,
                    conv(p + "._depthwise_conv", p + "._bn1", stride, True),
                    conv(p + "._project_conv", p + "._bn2", 1, False),
                    stride == 1 and width == out,
                )
            )
            width, index = out, index + 1
        self.head = conv("_conv_head", "_bn1", 1, False)
        convs = [self.stem, self.head] + [c for b in self.blocks for c in b[:3] if c is not None]
        for c in convs:
            c.to(dtype, channels_last)

    @torch.no_grad()
    def features(self, images):
        x = (images.float() - 127.0) / 128.0
        side = self.input_side
        if x.shape[2] != side or x.shape[3] != side:
            x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
        x = x.to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = F.relu6(self.stem(x))
        for expand, depthwise, project, residual in self.blocks:
            h = F.relu6(expand(x)) if expand is not None else x
            h = project(F.relu6(depthwise(h)))
            x = h + x if residual else h
        x = F.relu6(self.head(x))
        return x.float().mean(dim=(2, 3))


def load_images(root, limit):
    from PIL import Image

    paths = []
    for dirpath, _, files in os.walk(root):
        paths += [os.path.join(dirpath, f) for f in files if f.lower().endswith((".jpg", ".jpeg", ".png"))]
    paths = sorted(paths)[:limit]
    arrays = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    sides = {a.shape[:2] for a in arrays}
    if len(sides) != 1:
        sys.exit(f"images of several sizes ({sorted(sides)[:3]}…): give a folder of one size")
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("images")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--check")
    ap.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--side", type=int)
    ap.add_argument("--input-side", type=int, default=224)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    net = EffnetLite(args.weights, dtype, args.channels_last, args.input_side)
    if args.side:
        raw = np.fromfile(args.images, dtype=np.uint8).reshape(-1, 3, args.side, args.side)
        images = torch.from_numpy(raw[: args.limit].copy())
    else:
        images = load_images(args.images, args.limit)
    net.features(images[: args.batch])  # warm-up
    start = time.perf_counter()
    feats = [net.features(images[i : i + args.batch]) for i in range(0, len(images), args.batch)]
    seconds = time.perf_counter() - start
    result = {
        "images": len(images),
        "threads": args.threads,
        "batch": args.batch,
        "seconds": round(seconds, 3),
        "images_per_s": round(len(images) / seconds, 2),
        "precision": args.precision,
        "channels_last": args.channels_last,
        "torch": torch.__version__,
    }
    if args.check:
        theirs = np.fromfile(args.check, dtype="<f4").reshape(-1, 1280)
        ours = torch.cat(feats).numpy()[: len(theirs)]
        result["max_abs_diff"] = float(np.abs(ours - theirs[: len(ours)]).max())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
