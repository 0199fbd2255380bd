#!/usr/bin/env python3
"""What a lost packet costs, by what it carried: a probe for slice layouts and concealment.

Encodes PICTURE with the codec bundle (onnxruntime, quality Q), takes away a fraction of the
latent, conceals it as the runtime does for a lost slice (each lost value from the nearest
received ones up, down, left and right, inverse-distance weighted), decodes, and prints the
PSNR change against the lossless decode, averaged over --seeds placements:

* layouts of slices of --per positions (all channels): runs in raster order (today's packets),
  every n-th position, and positions scattered over the packets;
* the same loss taken only from the channels outside the K that carry the most bits (the others
  kept): what protecting the strongest channels would buy.

Usage: python3 models/codec/loss_probe.py [PICTURE] [--model DIR] [--quality 5] [--loss 0.1 0.3]
"""

import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import REPO, psnr  # noqa: E402


def conceal(latent, known, channels):
    """`latent` with the `channels` of every position not `known` filled from the nearest known
    position in each of the four directions, weighted by 1 / distance (0 with none)."""
    out = latent.copy()
    h, w = known.shape
    for y in range(h):
        for x in range(w):
            if known[y, x]:
                continue
            near = []
            for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                k = 1
                while 0 <= y + dy * k < h and 0 <= x + dx * k < w:
                    if known[y + dy * k, x + dx * k]:
                        near.append((1.0 / k, latent[channels, y + dy * k, x + dx * k]))
                        break
                    k += 1
            if near:
                total = sum(wt for wt, _ in near)
                out[channels, y, x] = np.round(sum(wt * v for wt, v in near) / total)
            else:
                out[channels, y, x] = 0
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("picture", nargs="?", default=os.path.join(REPO, "tests", "data", "sample.png"))
    ap.add_argument("--model", default=os.path.join(REPO, "models", "codec"))
    ap.add_argument("--quality", type=int, default=5)
    ap.add_argument("--loss", type=float, nargs="+", default=[0.1, 0.3])
    ap.add_argument("--per", type=int, default=10, help="positions per slice (MTU 222 at quality 5: ~10)")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    enc = ort.InferenceSession(os.path.join(args.model, "encoder.onnx"), opts)
    dec = ort.InferenceSession(os.path.join(args.model, "decoder.onnx"), opts)
    with open(os.path.join(args.model, "prior.json")) as f:
        prior = json.load(f)
    level = next(q for q in prior["qualities"] if q["quality"] == args.quality)
    gain = np.array(level["gain"], np.float32)[:, None, None]
    inverse = np.array(level["inverse_gain"], np.float32)[:, None, None]
    rgb = np.asarray(Image.open(args.picture).convert("RGB"))
    stride = prior["stride"]
    ph, pw = -rgb.shape[0] % stride, -rgb.shape[1] % stride
    padded = np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="edge")
    x = (padded.astype(np.float32) / 255).transpose(2, 0, 1)[None]
    latent = np.round(enc.run(None, {enc.get_inputs()[0].name: x})[0][0] * gain)
    c, h, w = latent.shape

    def decoded_psnr(symbols):
        y = dec.run(None, {dec.get_inputs()[0].name: (symbols * inverse)[None].astype(np.float32)})[0][0]
        out = np.clip(np.round(y.transpose(1, 2, 0) * 255), 0, 255)[:rgb.shape[0], :rgb.shape[1]]
        return psnr(rgb, out)

    lossless = decoded_psnr(latent)
    print(f"{os.path.basename(args.picture)}, quality {args.quality}: {lossless:.2f} dB lossless, "
          f"latent {c}x{h}x{w}, slices of {args.per} positions")
    positions = np.arange(h * w).reshape(h, w)
    slices = h * w // args.per
    layouts = {
        "runs in raster order (today)": positions // args.per,
        "every n-th position": positions % slices,
        "scattered (37 p mod n)": positions * 37 % slices,
    }
    bits = []
    for k in range(c):
        _, counts = np.unique(latent[k], return_counts=True)
        bits.append(-(counts * np.log2(counts / counts.sum())).sum())
    bits = np.array(bits)
    strongest = np.argsort(-bits)
    for loss in args.loss:
        def mean_change(slice_of, channels):
            values = []
            for seed in range(args.seeds):
                lost = np.random.default_rng(seed).choice(slices, int(round(loss * slices)), replace=False)
                values.append(decoded_psnr(conceal(latent, ~np.isin(slice_of, lost), channels)))
            return np.mean(values) - lossless

        for name, slice_of in layouts.items():
            print(f"{loss:4.0%} lost, {name:42s} {mean_change(slice_of, np.arange(c)):+.2f} dB", flush=True)
        for keep in (8, 16, 32):
            share = bits[strongest[:keep]].sum() / bits.sum()
            change = mean_change(layouts["runs in raster order (today)"], strongest[keep:])
            print(f"{loss:4.0%} lost, all but the {keep} strongest channels ({share:.0%} of bits) "
                  f"{change:+.2f} dB", flush=True)


if __name__ == "__main__":
    main()
