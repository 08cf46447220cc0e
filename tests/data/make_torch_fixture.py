#!/usr/bin/env python3
"""Write tests/data/torch_state_dict.safetensors: the file that

    import torch, torch.nn as nn
    from safetensors.torch import save_file
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    # ... weights set to the values below ...
    save_file(m.state_dict(), "torch_state_dict.safetensors")

writes, made with the standard library only (no torch here), byte for byte
as the safetensors format specifies and its reference serializer lays out:
8-byte little-endian header length, compact JSON header with the tensors
sorted by name (all F32, so the alignment sort does not reorder them) and
no __metadata__ (save_file's default metadata=None), padded with spaces to
a multiple of 8 bytes, then the little-endian F32 data in the same order.
The values are exact binary fractions, so tests compare them exactly.

Run from the repository top: python3 tests/data/make_torch_fixture.py
"""
import json
import struct

TENSORS = {
    "0.weight": ([3, 4], [0.5, -0.25, 1.0, 0.0,
                          0.125, 2.0, -1.0, 0.75,
                          -0.5, 0.25, 0.5, -2.0]),
    "0.bias": ([3], [0.5, -1.0, 0.25]),
    "2.weight": ([2, 3], [1.0, -1.0, 0.5,
                          -0.5, 2.0, 0.25]),
    "2.bias": ([2], [0.0625, -0.125]),
}


def main():
    header, data = {}, b""
    for name in sorted(TENSORS):
        shape, values = TENSORS[name]
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open("tests/data/torch_state_dict.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


if __name__ == "__main__":
    main()
