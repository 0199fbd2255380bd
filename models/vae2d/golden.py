#!/usr/bin/env python3
"""Golden input/output of the demo VAEs, computed by onnxruntime, and the small test inputs.

For each model (fashion, mnist) writes models/vae2d/<model>/golden/: images.f32 (8 eval images, [8,1,28,28]),
mu.f32 and logvar.f32 (encoder outputs), z.f32 (a 3x3 grid of latents, [9,2]) and decoded.f32 (decoder output),
raw little-endian float32, with golden.json holding their shapes. Also writes tests/data/vae2d/: a few eval
images as PNG and the first 500 Fashion-MNIST t10k images/labels as IDX (images gzip, labels plain) for the CLI
tests. Run: python3 models/vae2d/golden.py --data DATA (DATA as for train.py).
"""

import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

from train import load

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import add_data_arg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TEST_DATA = os.path.join(ROOT, "tests", "data", "vae2d")


def idx_bytes(arr):
    return struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.tobytes()


def golden(name, data):
    out = os.path.join(HERE, name, "golden")
    os.makedirs(out, exist_ok=True)
    _, _, xte, yte = load(name, data)
    images = (xte[:8].astype(np.float32) / np.float32(255.0))[:, None]
    enc = ort.InferenceSession(os.path.join(HERE, name, "encoder.onnx"), providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(os.path.join(HERE, name, "decoder.onnx"), providers=["CPUExecutionProvider"])
    mu, logvar = enc.run(None, {"image": images})
    z = np.array([[x, y] for y in (-1.5, 0.0, 1.5) for x in (-1.5, 0.0, 1.5)], np.float32)
    decoded = dec.run(None, {"z": z})[0]
    shapes = {}
    for key, arr in [("images", images), ("mu", mu), ("logvar", logvar), ("z", z), ("decoded", decoded)]:
        arr.astype("<f4").tofile(os.path.join(out, f"{key}.f32"))
        shapes[key] = list(arr.shape)
    meta = {"producer": f"onnxruntime {ort.__version__}", "labels": yte[:8].tolist(), "shapes": shapes}
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(meta, f, indent=1)
    for i in range(3):
        Image.fromarray(xte[i]).save(os.path.join(TEST_DATA, f"{name}-{i}-label{yte[i]}.png"))
    return xte, yte


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(p)
    args = p.parse_args()
    os.makedirs(TEST_DATA, exist_ok=True)
    xte, yte = golden("fashion", args.data)
    golden("mnist", args.data)
    with gzip.GzipFile(os.path.join(TEST_DATA, "fashion-t10k-500-images-idx3-ubyte.gz"), "wb", mtime=0) as f:
        f.write(idx_bytes(xte[:500]))
    with open(os.path.join(TEST_DATA, "fashion-t10k-500-labels-idx1-ubyte"), "wb") as f:
        f.write(idx_bytes(yte[:500]))


if __name__ == "__main__":
    main()
