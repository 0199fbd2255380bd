#!/usr/bin/env python3
"""How many bits a spatial context model would save over the factorized prior, before building one.

The factorized prior codes every latent symbol with its channel's table. Symbols are not
independent of their neighbours: where the already-decoded neighbours in the same channel are
large, the symbol tends to be large too. A context model keeps several tables per channel and
picks one from the neighbours' magnitudes: integer arithmetic only, so decoding stays bit-exact.

This estimates the saving without changing the codec. Tables are symbol counts over the training
photos (max side 768); the cost is the cross-entropy of the validation photos' symbols (max side
1024) under those tables, in bits per image pixel, for:
- factorized: one table per channel (the empirical counterpart of prior.json);
- 2 neighbours: |left| + |top|, 4 classes (0, 1, 2-3, 4+);
- 4 neighbours: |left| + |top| + (|top-left| + |top-right|) / 2, 6 classes (0, 1, 2, 3-4, 5-7, 8+).
Neighbours outside the plane count as 0. Symbols are round(mu * gain) at the chosen quality.

    python3 models/codec/context_gain.py --data DIR [--model DIR] [--quality Q] [--train N]

DIR is made by `bash shared/data/gather-images.sh DIR`. Needs onnxruntime, numpy, pillow.
"""

import argparse
import glob
import json
import os

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
RANGE = 40  # symbols are clipped to +-RANGE for counting (the coder escapes beyond its tables)
CONTEXTS = {
    "2 neighbours": (lambda n: n["left"] + n["top"], [0, 1, 3]),
    "4 neighbours": (lambda n: n["left"] + n["top"] + (n["top_left"] + n["top_right"]) // 2, [0, 1, 2, 4, 7]),
}


def image(path, max_side):
    """1x3xHxW in [0, 1], edge-padded to multiples of 16, and the unpadded pixel count."""
    img = Image.open(path).convert("RGB")
    if max(img.size) > max_side:
        s = max_side / max(img.size)
        img = img.resize((round(img.width * s), round(img.height * s)), Image.LANCZOS)
    a = np.asarray(img, np.float32) / np.float32(255)
    h, w = a.shape[:2]
    a = np.pad(a, ((0, -h % 16), (0, -w % 16), (0, 0)), mode="edge")
    return a.transpose(2, 0, 1)[None], h * w


def shifted(a, dy, dx):
    """a[:, y - dy, x - dx], with zeros where that falls outside the plane."""
    out = np.zeros_like(a)
    h, w = a.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        a[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def contexts(symbols):
    """Context class of every symbol, per context model."""
    a = np.abs(symbols)
    n = {"left": shifted(a, 0, 1), "top": shifted(a, 1, 0), "top_left": shifted(a, 1, 1),
         "top_right": shifted(a, 1, -1)}
    return {name: np.searchsorted(np.array(edges), f(n), side="left") for name, (f, edges) in CONTEXTS.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="directory made by gather-images.sh")
    ap.add_argument("--model", default=HERE, help="codec bundle directory (default: models/codec)")
    ap.add_argument("--quality", type=int, help="quality level of a levelled prior (default: its default)")
    ap.add_argument("--train", type=int, default=80, help="training photos to count symbols on")
    args = ap.parse_args()
    with open(os.path.join(args.model, "prior.json")) as f:
        prior = json.load(f)
    gain = None
    if "qualities" in prior:
        q = args.quality or prior["default_quality"]
        level = next(lv for lv in prior["qualities"] if lv["quality"] == q)
        gain = np.array(level["gain"], np.float32)[:, None, None]
    enc = ort.InferenceSession(os.path.join(args.model, "encoder.onnx"), providers=["CPUExecutionProvider"])

    def symbols(path, max_side):
        x, pixels = image(path, max_side)
        mu = enc.run(None, {"image": x})[0][0]
        return np.round(mu if gain is None else mu * gain).astype(np.int64), pixels

    train = [symbols(p, 768) for p in sorted(glob.glob(os.path.join(args.data, "train", "*")))[:args.train]]
    val = [symbols(p, 1024) for p in sorted(glob.glob(os.path.join(args.data, "val", "*")))]
    if not train or not val:
        raise SystemExit(f"no photos in {args.data}/train or /val (run shared/data/gather-images.sh)")
    channels, bins = train[0][0].shape[0], 2 * RANGE + 1
    classes = {name: len(edges) + 1 for name, (_, edges) in CONTEXTS.items()}
    factorized = np.ones((channels, bins))
    counts = {name: np.full((channels, k, bins), 0.1) for name, k in classes.items()}
    for s, _ in train:
        v = np.clip(s, -RANGE, RANGE) + RANGE
        ctx = contexts(s)
        for c in range(channels):
            factorized[c] += np.bincount(v[c].ravel(), minlength=bins)
            for name in CONTEXTS:
                np.add.at(counts[name][c], (ctx[name][c].ravel(), v[c].ravel()), 1)
    log_p = np.log2(factorized / factorized.sum(-1, keepdims=True))
    log_pc = {name: np.log2(t / t.sum(-1, keepdims=True)) for name, t in counts.items()}
    bits = {"factorized": 0.0, **{name: 0.0 for name in CONTEXTS}}
    pixels = 0
    for s, n in val:
        v = np.clip(s, -RANGE, RANGE) + RANGE
        ch = np.broadcast_to(np.arange(channels)[:, None, None], s.shape)
        bits["factorized"] -= log_p[ch, v].sum()
        for name, ctx in contexts(s).items():
            bits[name] -= log_pc[name][ch, ctx, v].sum()
        pixels += n
    base = bits["factorized"]
    print(f"{os.path.abspath(args.model)}, quality {args.quality or prior.get('default_quality', 'single-rate')}")
    print("| model | bpp | saving |")
    print("|---|---|---|")
    for name, b in bits.items():
        print(f"| {name} | {b / pixels:.4f} | {100 * (1 - b / base):.1f} % |")


if __name__ == "__main__":
    main()
