#!/usr/bin/python3
"""Check cgrad against PyTorch, number for number.

Needs PyTorch (Debian: python3-torch); not part of `make test`, since cgrad
itself does not depend on it. Run from the top of the source tree after
`make`:

    python3 scripts/torch_parity.py [BUILD]

1. Interchange: a PyTorch nn.Sequential's state_dict, written as safetensors
   by this script, starts a cgrad run (--init); a model cgrad wrote loads
   into nn.Sequential with load_state_dict(strict=True).
2. Training: from the same weights, cgrad and PyTorch each train 20
   full-batch steps on the iris table with every optimizer and the options
   that change its rule; the final weights must agree to float32 rounding.
3. Inference: the loaded model's softmax equals `cgrad predict`'s
   probabilities.

The safetensors files are read and written here with the standard library
(struct, json), so the script needs no package beyond torch.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
CGRAD = os.path.join(BUILD, "cgrad")
IRIS = "examples/data/iris.csv"
STEPS = 20


def save_safetensors(path, tensors):
    """tensors: name -> float32 tensor, in state_dict order."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        b, e = info["data_offsets"]
        flat = struct.unpack("<%df" % ((e - b) // 4), raw[8 + n + b:8 + n + e])
        out[name] = torch.tensor(flat, dtype=torch.float32).reshape(info["shape"])
    return out, meta


def iris():
    rows = [line.strip().split(",") for line in open(IRIS)][1:]
    names = sorted(set(r[4] for r in rows))
    x = torch.tensor([[float(v) for v in r[:4]] for r in rows], dtype=torch.float32)
    y = torch.tensor([names.index(r[4]) for r in rows])
    return x, y


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


# Each case: cgrad's options, and the same optimizer in PyTorch.
CASES = [
    ("sgd", ["--optim", "sgd", "--lr", "0.05"],
     lambda p: torch.optim.SGD(p, lr=0.05)),
    ("sgd momentum dampening wd", ["--optim", "sgd", "--lr", "0.05", "--momentum", "0.9",
                                   "--dampening", "0.1", "--weight-decay", "0.01"],
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("sgd nesterov", ["--optim", "sgd", "--lr", "0.05", "--momentum", "0.9", "--nesterov"],
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    ("rmsprop", ["--optim", "rmsprop", "--lr", "0.01"],
     lambda p: torch.optim.RMSprop(p, lr=0.01)),
    ("rmsprop momentum wd", ["--optim", "rmsprop", "--lr", "0.01", "--alpha", "0.9",
                             "--momentum", "0.5", "--weight-decay", "0.01"],
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.01)),
    ("adagrad", ["--optim", "adagrad", "--lr", "0.05"],
     lambda p: torch.optim.Adagrad(p, lr=0.05)),
    ("adam", ["--optim", "adam", "--lr", "0.01"],
     lambda p: torch.optim.Adam(p, lr=0.01)),
    ("adam wd betas", ["--optim", "adam", "--lr", "0.01", "--beta1", "0.8", "--beta2", "0.99",
                       "--weight-decay", "0.01"],
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.01)),
    ("adamw", ["--optim", "adamw", "--lr", "0.01"],
     lambda p: torch.optim.AdamW(p, lr=0.01)),
]


def main():
    x, y = iris()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        init = os.path.join(tmp, "init.safetensors")
        save_safetensors(init, model().state_dict())
        for name, flags, make_opt in CASES:
            out = os.path.join(tmp, "out.safetensors")
            subprocess.run([CGRAD, "train", IRIS, "--init", init, "--hidden", "16",
                            "--normalize", "none", "--no-shuffle", "--batch", "150",
                            "--steps", str(STEPS), "--epochs", str(STEPS), "--quiet",
                            "--out", out] + flags, check=True, stdout=subprocess.DEVNULL)
            got, meta = load_safetensors(out)
            m = model()
            opt = make_opt(m.parameters())
            for _ in range(STEPS):
                opt.zero_grad()
                nn.functional.cross_entropy(m(x), y).backward()
                opt.step()
            want = m.state_dict()
            worst = max(float((got[k] - want[k]).abs().max() /
                              (want[k].abs().max() + 1e-12)) for k in want)
            ok = worst < 1e-4
            failures += not ok
            print(f"{name:28s} max relative difference {worst:.2e}  {'ok' if ok else 'FAIL'}")
        # The last model cgrad wrote loads strictly into nn.Sequential, and
        # its softmax matches `cgrad predict` on the training rows.
        m = model()
        m.load_state_dict(got, strict=True)
        rows = os.path.join(tmp, "rows.csv")
        with open(rows, "w") as f:
            f.write("a,b,c,d\n")
            for r in x[:10].tolist():
                f.write(",".join(repr(v) for v in r) + "\n")
        res = subprocess.run([CGRAD, "predict", out, rows, "--top", "3", "--json"],
                             check=True, capture_output=True, text=True)
        classes = json.loads(meta["classes"])
        probs = torch.softmax(m(x[:10]), dim=1)
        worst = 0.0
        for i, pred in enumerate(json.loads(res.stdout)["predictions"]):
            for top in pred["top"]:
                worst = max(worst, abs(top["probability"] -
                                       float(probs[i, classes.index(top["class"])])))
        ok = worst < 1e-5
        failures += not ok
        print(f"{'predict vs torch softmax':28s} max absolute difference {worst:.2e}  "
              f"{'ok' if ok else 'FAIL'}")
    total = len(CASES) + 1
    print(f"parity: {total - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
