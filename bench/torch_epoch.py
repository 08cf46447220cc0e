#!/usr/bin/python3
"""One epoch of the demo task in PyTorch, for the table of `make bench`.

The same network, loss, optimizer and batch as bench_train (784-256-128-10
ReLU, cross-entropy, Adam, batch 128, Fashion-MNIST scaled to [0, 1]).
Usage: torch_epoch.py INTRA_THREADS  (OPENBLAS_NUM_THREADS set by the caller).
Prints one markdown row; prints nothing if torch or the data is missing.
"""
import gzip
import os
import struct
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    sys.exit(0)

DIR = "/usr/share/datasets/fashion-mnist"


def idx(path):
    raw = gzip.open(path).read()
    ndim = raw[3]
    dims = struct.unpack(">%dI" % ndim, raw[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def main():
    if not os.path.isdir(DIR):
        return
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = idx(os.path.join(DIR, "train-images-idx3-ubyte.gz")).reshape(-1, 784).float() / 255
    y = idx(os.path.join(DIR, "train-labels-idx1-ubyte.gz")).long()
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(x))
    t0 = time.perf_counter()
    for i in range(0, len(x), 128):
        idx_b = order[i:i + 128]
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[idx_b]), y[idx_b]).backward()
        opt.step()
    seconds = time.perf_counter() - t0
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"| pytorch {torch.__version__} epoch, intra-op threads {threads}, "
          f"OPENBLAS_NUM_THREADS {blas} | {seconds:.3f} | s | the same task and settings |")


if __name__ == "__main__":
    main()
