#!/usr/bin/env python3
"""Write the small image folders under examples/data/ from Fashion-MNIST.

examples/data/photos/<class>/NN.png: the first 10 training images of each of
three classes (trouser, sneaker, bag), the layout `cgrad train` reads as an
image folder; examples/data/new-photos/N.png: the first 2 test images of
each, for `cgrad predict`. 28x28 grayscale PNGs, written with the standard
library only. Fashion-MNIST (Zalando Research) is MIT-licensed; the Debian
package dataset-fashion-mnist (scripts/deps.sh demo) installs it.

    scripts/make_photos.py [IDX_FOLDER] [OUT_FOLDER]
"""
import gzip
import os
import struct
import sys
import zlib

CLASSES = {1: "trouser", 7: "sneaker", 8: "bag"}
TRAIN_PER_CLASS = 10
TEST_PER_CLASS = 2


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]


def png(path, w, h, pixels):
    def chunk(kind, body):
        c = struct.pack(">I", len(body)) + kind + body
        return c + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    rows = b"".join(b"\0" + pixels[y * w:(y + 1) * w] for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)   # 8-bit gray
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def pick(src, kind, per_class):
    (n, h, w), images = read_idx(os.path.join(src, kind + "-images-idx3-ubyte.gz"))
    _, labels = read_idx(os.path.join(src, kind + "-labels-idx1-ubyte.gz"))
    taken = {c: [] for c in CLASSES}
    for i in range(n):
        c = labels[i]
        if c in taken and len(taken[c]) < per_class:
            taken[c].append(images[i * h * w:(i + 1) * h * w])
    return w, h, taken


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    out = sys.argv[2] if len(sys.argv) > 2 else "examples/data"
    w, h, train = pick(src, "train", TRAIN_PER_CLASS)
    for c, name in CLASSES.items():
        folder = os.path.join(out, "photos", name)
        os.makedirs(folder, exist_ok=True)
        for k, px in enumerate(train[c]):
            png(os.path.join(folder, "%02d.png" % (k + 1)), w, h, px)
    w, h, test = pick(src, "t10k", TEST_PER_CLASS)
    folder = os.path.join(out, "new-photos")
    os.makedirs(folder, exist_ok=True)
    k = 0
    for r in range(TEST_PER_CLASS):        # interleaved: not sorted by class
        for c in CLASSES:
            k += 1
            png(os.path.join(folder, "%d.png" % k), w, h, test[c][r])


if __name__ == "__main__":
    main()
