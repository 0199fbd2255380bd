#!/usr/bin/env python3
"""What a lost packet costs, by what it carried: a probe for slice layouts, concealment and protection.

Encodes PICTURE with the codec bundle (onnxruntime, quality Q), takes away a fraction of the
latent, conceals it as the runtime does for a lost slice (each lost value from the nearest
received ones up, down, left and right, inverse-distance weighted), decodes, and prints the
PSNR change against the lossless decode, averaged over --seeds placements:

* layouts of slices of --per positions (all channels): runs in raster order (today's packets),
  every n-th position, and positions scattered over the packets;
* unequal protection: the K channels that carry the most bits in slices of their own (every n-th
  position), the rest in plain slices. "never lost" is the bound any erasure code could reach,
  with the least parity that could give it (share of bits x loss / (1 - loss)); "xor per G" is
  one parity slice per G of their slices, each recovering one loss in its group, priced at
  share / G of the bytes.

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
    ap.add_argument("--model", default=os.path.join(REPO, "models", "codec-v5"))
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

        def protected_change(strong, group):
            """PSNR change with the `strong` channels' slices behind one XOR parity slice per
            `group` of them (never lost when `group` is 0), and the share of them lost for good."""
            weak = np.setdiff1d(np.arange(c), strong)
            every_nth = layouts["every n-th position"]
            values, unrecovered = [], []
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                symbols = conceal(latent, ~np.isin(every_nth, rng.choice(slices, int(round(loss * slices)),
                                                                         replace=False)), weak)
                if group:
                    groups = -(-slices // group)
                    packets = slices + groups
                    gone = np.zeros(packets, bool)
                    gone[rng.choice(packets, int(round(loss * packets)), replace=False)] = True
                    member = np.arange(slices) // group
                    losses = np.bincount(member, gone[:slices], groups) + gone[slices:]
                    lost = np.flatnonzero(gone[:slices] & (losses[member] > 1))
                    symbols = conceal(symbols, ~np.isin(every_nth, lost), strong)
                    unrecovered.append(len(lost) / slices)
                values.append(decoded_psnr(symbols))
            return np.mean(values) - lossless, np.mean(unrecovered) if group else 0.0

        for name, slice_of in layouts.items():
            print(f"{loss:4.0%} lost, {name:42s} {mean_change(slice_of, np.arange(c)):+.2f} dB", flush=True)
        for keep in (4, 8, 16):
            share = bits[strongest[:keep]].sum() / bits.sum()
            change, _ = protected_change(strongest[:keep], 0)
            print(f"{loss:4.0%} lost, strongest {keep} channels ({share:.0%} of bits) never lost: {change:+.2f} dB, "
                  f"parity >= {share * loss / (1 - loss):.1%} of the bytes", flush=True)
            for group in (2, 4, 8):
                change, unrecovered = protected_change(strongest[:keep], group)
                print(f"{loss:4.0%} lost, strongest {keep}, xor per {group} (+{share / group:.1%} bytes): "
                      f"{change:+.2f} dB, {unrecovered:.1%} of their slices lost", flush=True)

if __name__ == "__main__":
    main()
