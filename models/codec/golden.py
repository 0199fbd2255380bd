#!/usr/bin/env python3
"""Golden input/output of the codec graphs, computed by onnxruntime, for tests/it/golden.rs.

Writes golden/input.png (a 96x64 crop of tests/data/sample.png, gray for a gray model), golden/encoder_mu.f32 (encoder output),
golden/latent.f32 (the decoder input: round(mu), or with quality levels
round(mu x gain) x inverse gain at the default quality, as the runtime computes it) and golden/decoder_image.f32 (decoder output), all raw
little-endian float32 in NCHW order, and golden/golden.json with their shapes, in the bundle's folder.
Run from anywhere: python3 models/codec/golden.py [--codec DIR] (default: the embedded bundle, models/codec-v5)
"""

import argparse
import json
import os

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codec", default=os.path.join(ROOT, "models", "codec-v5"), help="bundle directory")
    bundle = ap.parse_args().codec
    out = os.path.join(bundle, "golden")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(bundle, "prior.json")) as f:
        prior = json.load(f)
    # A gray model ("colours": 1) takes the crop's luma as Pillow computes it.
    mode = "L" if prior.get("colours", 3) == 1 else "RGB"
    crop = Image.open(os.path.join(ROOT, "tests", "data", "sample.png")).convert("RGB").crop((240, 160, 336, 224))
    crop = crop.convert(mode)
    crop.save(os.path.join(out, "input.png"))
    x = np.asarray(crop, np.float32).reshape(crop.height, crop.width, -1).transpose(2, 0, 1)[None] / np.float32(255.0)
    enc = ort.InferenceSession(os.path.join(bundle, "encoder.onnx"), providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(os.path.join(bundle, "decoder.onnx"), providers=["CPUExecutionProvider"])
    mu = enc.run(None, {"image": x})[0]
    levels = {lv["quality"]: lv for lv in prior.get("qualities", [])}
    if levels:
        level = levels[prior["default_quality"]]
        gain, inverse = (np.array(level[k], np.float32)[None, :, None, None] for k in ("gain", "inverse_gain"))
        latent = np.round(mu * gain) * inverse
    else:
        latent = np.round(mu).astype(np.float32)
    image = dec.run(None, {"latent": latent})[0]
    shapes = {}
    for name, arr in [("encoder_mu", mu), ("latent", latent), ("decoder_image", image)]:
        arr.astype("<f4").tofile(os.path.join(out, f"{name}.f32"))
        shapes[name] = list(arr.shape)
    meta = {"producer": f"onnxruntime {ort.__version__}", "input": "input.png", "shapes": shapes}
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
