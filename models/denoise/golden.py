#!/usr/bin/env python3
"""Golden input/output of a denoiser bundle's denoiser.onnx, computed by onnxruntime, for
tests/it/denoise_golden.rs.

Writes, in the bundle (default: this folder, denoise-v1), golden/input.png (a 64x48 crop of tests/data/sample.png with Gaussian noise, sigma 25, seed 0) and
golden/output.f32 (raw little-endian float32, 1x3x48x64), with golden/golden.json; for a bundle
with denoiser.int8.onnx, golden/output.int8.f32 likewise.
    python3 models/denoise/golden.py [models/denoise-v2]
"""

import json
import sys
import os

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    bundle = sys.argv[1] if len(sys.argv) > 1 else HERE
    out = os.path.join(bundle, "golden")
    os.makedirs(out, exist_ok=True)
    crop = np.asarray(Image.open(os.path.join(ROOT, "tests", "data", "sample.png")).convert("RGB")
                      .crop((300, 180, 364, 228)), np.float64)
    noisy = np.clip(np.round(crop + 25 * np.random.default_rng(0).standard_normal(crop.shape)), 0, 255)
    Image.fromarray(noisy.astype(np.uint8)).save(os.path.join(out, "input.png"))
    x = (noisy.astype(np.float32) / np.float32(255)).transpose(2, 0, 1)[None]
    meta = {"producer": f"onnxruntime {ort.__version__}", "input": "input.png"}
    for graph, output in [("denoiser.onnx", "output.f32"), ("denoiser.int8.onnx", "output.int8.f32")]:
        if not os.path.exists(os.path.join(bundle, graph)):
            continue
        sess = ort.InferenceSession(os.path.join(bundle, graph), providers=["CPUExecutionProvider"])
        y = sess.run(None, {"image": x})[0]
        y.astype("<f4").tofile(os.path.join(out, output))
        meta[graph] = output
        meta["shape"] = list(y.shape)
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
