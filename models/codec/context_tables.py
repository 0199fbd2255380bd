#!/usr/bin/env python3
"""Context tables for the codec's prior: a guess from the neighbours taken off each symbol, and
fourteen CDF tables per channel for what is left, picked by coded values.

With `"context": "neighbours+channels"` in prior.json, `latent-wire` codes a latent position by
position in raster order, all channels of a position in channel order, and the table of a symbol
is one of fourteen of its channel (`latent_wire::symbols::Context::NeighboursAndChannels`),
picked by two things coded before it:
- its neighbours, the left, top, top-left and top-right symbols of the same channel; one is known
  when it is on the plane (and, in a packet's span, at or after the span's first position). Their
  activity a = 3 * (2|left - g| + 2|top - g| + |top-left - g| + |top-right - g|) / (the known
  ones' weights, 2, 2, 1, 1), where g is the symbol's guess (below), integer division, distances
  over 64 counted as 64; with all four known that is |left - g| + |top - g| + (|top-left - g| +
  |top-right - g|) / 2;
- n, how many of the channels before it are non-zero at the same position.
With a neighbour known, a + n // 3 picks class 0..3 for 0..3, 4 for 4..5, 5 for 6..7, 6 for 8..10,
7 for 11..14, 8 for 15..20, 9 for 21..28, 10 from 29 up. With none known (a plane's or span's
first position), n picks class 11 for 0..1, 12 for 2..7, 13 from 8 up.

Each level also has a predictor (`latent_wire::predict::Predictor`): per channel, four integer
weights over the left, top, top-left and top-right symbols (the known ones; clamped to +-4096),
scaled by 2^SHIFT; the guess (sum + 2^(SHIFT-1)) >> SHIFT is taken off the symbol before it is
coded. The weights are least squares on the training photos' symbols, rounded to 16-bit integers.

The tables are counts of the encoder's symbols minus their guesses on the training photos (each
at max side 1024 and 512, edge-padded to a multiple of the stride as the runtime pads), per level, channel
and class, over the learned table's range plus its escape symbol, smoothed towards the learned
factorized table with ALPHA pseudo-observations, then rounded to 16-bit integer frequencies (every
symbol >= 1).

Reads prior.factorized.json (the learned factorized prior that train.py / train_rate.py write) and
writes prior.json with the same levels, gains and ranges. Prints, per level, the validation
photos' bits per pixel at native size with the factorized tables, with context tables alone and
with the guesses and context tables (the cost the coder pays: escapes counted with their side
bits).

    python3 models/codec/context_tables.py --data DIR [--model DIR]

DIR is made by `bash shared/data/gather-images.sh DIR`. Needs onnxruntime, numpy, pillow.
Deterministic for a given DIR and onnxruntime version.
"""

import argparse
import glob
import json
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

from train import quantize_pmf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import add_data_arg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLASSES = 14
# Upper ends of classes 0..9 for a + n // 3, and of classes 11, 12 for n alone.
JOINT_BOUNDS = np.array([0, 1, 2, 3, 5, 7, 10, 14, 20, 28])
ALONE_BOUNDS = np.array([1, 7])
MAGNITUDE_CAP = 64
SHIFT = 12
INPUT_CAP = 4096
GUESS_CAP = 1 << 16
ALPHA = 16.0
TOTAL = 1 << 16


def planar(img, stride, colours=3):
    """1xCxHxW in [0, 1] (C = `colours`: RGB, or 1 for a gray model's luma), edge-padded to multiples
    of the latent's stride."""
    a = np.asarray(img.convert("L" if colours == 1 else "RGB"), np.float32).reshape(img.height, img.width, -1)
    a = a / np.float32(255)
    h, w = a.shape[:2]
    a = np.pad(a, ((0, -h % stride), (0, -w % stride), (0, 0)), mode="edge")
    return a.transpose(2, 0, 1)[None]


def scaled(path, max_side):
    img = Image.open(path)
    if max(img.size) > max_side:
        s = max_side / max(img.size)
        img = img.convert("RGB").resize((round(img.width * s), round(img.height * s)), Image.LANCZOS)
    return img


def classes(symbols, guesses):
    """Context class of every symbol of a C x H x W latent coded whole, as latent-wire computes it
    (the neighbours' distances from the symbol's guess), and the class it would have with no
    neighbour known (as at the first position of a span)."""
    c, h, w = symbols.shape
    p = np.zeros((c, h + 1, w + 2), np.int64)
    p[:, 1:, 1:-1] = symbols
    known = np.zeros((1, h + 1, w + 2), np.int64)
    known[:, 1:, 1:-1] = 1
    # (weight, rows, columns) of left, top, top-left, top-right in the padded planes.
    near = [(2, slice(1, None), slice(None, -2)), (2, slice(None, -1), slice(1, -1)),
            (1, slice(None, -1), slice(None, -2)), (1, slice(None, -1), slice(2, None))]
    total = sum(wt * known[:, r, col] * np.minimum(np.abs(p[:, r, col] - guesses), MAGNITUDE_CAP)
                for wt, r, col in near)
    weight = sum(wt * known[:, r, col] for wt, r, col in near)
    act = 3 * total // np.maximum(weight, 1)
    nonzero = (symbols != 0).astype(np.int64)
    n = np.cumsum(nonzero, 0) - nonzero
    joint = np.searchsorted(JOINT_BOUNDS, act + n // 3, side="left")
    alone = 11 + np.searchsorted(ALONE_BOUNDS, n, side="left")
    return np.where(weight == 0, alone, joint), alone


def neighbours(symbols):
    """Left, top, top-left and top-right of every symbol in its channel (0 off the plane),
    clamped to +-INPUT_CAP: 4 x C x H x W."""
    c, h, w = symbols.shape
    p = np.zeros((c, h + 1, w + 2), np.int64)
    p[:, 1:, 1:-1] = np.clip(symbols, -INPUT_CAP, INPUT_CAP)
    return np.stack([p[:, 1:, :-2], p[:, :-1, 1:-1], p[:, :-1, :-2], p[:, :-1, 2:]])


def fit_predictor(latents):
    """Per channel, the least-squares weights of the four neighbours, as integers scaled by
    2^SHIFT: C x 4."""
    c = latents[0].shape[0]
    gram, cross = np.zeros((c, 4, 4)), np.zeros((c, 4))
    for s in latents:
        x = neighbours(s).reshape(4, c, -1).astype(np.float64)
        gram += np.einsum("ich,jch->cij", x, x)
        cross += np.einsum("ich,ch->ci", x, s.reshape(c, -1))
    # A small ridge keeps collapsed channels (all zero) at zero weights.
    ridge = 1e-3 * sum(s[0].size for s in latents)
    w = np.linalg.solve(gram + ridge * np.eye(4), cross[..., None])[..., 0]
    return np.clip(np.round(w * (1 << SHIFT)), -32768, 32767).astype(np.int64)


def guess(symbols, weights):
    """The predictor's guess for every symbol, in latent-wire's integer arithmetic."""
    total = np.einsum("ic,ichw->chw", weights.T, neighbours(symbols))
    return np.clip((total + (1 << (SHIFT - 1))) >> SHIFT, -GUESS_CAP, GUESS_CAP)


def bins(symbols, tables):
    """Index of each symbol in its channel's table: value - offset, or the escape index."""
    out = np.empty_like(symbols)
    for c, t in enumerate(tables):
        n = len(t["cdf"]) - 2
        s = symbols[c] - t["offset"]
        out[c] = np.where((s >= 0) & (s < n), s, n)
    return out


def escape_bits(symbols, tables):
    """Side bits of escaped symbols: direction, 6-bit length, the distance's low bits."""
    total = 0
    for c, t in enumerate(tables):
        n = len(t["cdf"]) - 2
        s = symbols[c].astype(np.int64) - t["offset"]
        d = np.where(s < 0, -s, s - n + 1)[(s < 0) | (s >= n)]
        total += int(np.sum(7 + np.floor(np.log2(d)).astype(np.int64)))
    return total


def cdf(freqs):
    return [0] + [int(v) for v in np.cumsum(freqs)]


def count_tables(train_s, weights, factorized, width):
    """The 14 tables per channel of the symbols minus their guesses (as prior.json lists them)
    and their log2 probabilities, C x CLASSES x width."""
    channels = len(factorized)
    counts = np.zeros((channels, CLASSES, width))
    for s in train_s:
        g = guess(s, weights)
        k, alone = classes(s, g)
        b = bins(s - g, factorized)
        ch = np.broadcast_to(np.arange(channels)[:, None, None], s.shape)
        # Classes 0..10 count the symbols that pick them; 11..13 (no neighbour known, rare
        # in a whole plane, the first position of every span) count every symbol by n.
        k = np.where(k < 11, k, -1)
        for cls in (k, alone):
            use = cls >= 0
            np.add.at(counts, (ch[use], cls[use], b[use]), 1)
    tables, log_p = [], np.zeros((channels, CLASSES, width))
    for c, t in enumerate(factorized):
        learned = np.diff(np.array(t["cdf"], np.float64)) / TOTAL
        n = len(learned)
        for k in range(CLASSES):
            freqs = quantize_pmf(counts[c, k, :n] + ALPHA * learned, TOTAL)
            tables.append({"offset": t["offset"], "cdf": cdf(freqs)})
            log_p[c, k, :n] = np.log2(freqs / TOTAL)
    return tables, log_p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(ap, "directory made by gather-images.sh")
    ap.add_argument("--model", default=HERE, help="bundle directory (default: models/codec)")
    args = ap.parse_args()
    with open(os.path.join(args.model, "prior.factorized.json")) as f:
        prior = json.load(f)
    levels = prior.get("qualities") or [{"quality": None, "gain": [1.0] * prior["latent_channels"],
                                         "channels": prior["channels"]}]
    enc = ort.InferenceSession(os.path.join(args.model, "encoder.onnx"), providers=["CPUExecutionProvider"])
    mu = lambda img: enc.run(None, {"image": planar(img, prior["stride"], prior.get("colours", 3))})[0][0]
    train = sorted(glob.glob(os.path.join(args.data, "train", "*")))
    val = sorted(glob.glob(os.path.join(args.data, "val", "*")))
    if not train or not val:
        raise SystemExit(f"no photos in {args.data}/train or /val (run shared/data/gather-images.sh)")
    train_mu = [mu(scaled(p, side)) for p in train for side in (1024, 512)]
    val_images = [Image.open(p) for p in val]
    val_mu = [(mu(img), img.width * img.height) for img in val_images]
    width = max(len(t["cdf"]) - 1 for lv in levels for t in lv["channels"])
    channels = len(levels[0]["channels"])
    print(f"{len(train)} training photos at two sizes, {len(val)} validation photos at native size")
    print("| level | factorized bpp | context bpp | guess + context bpp | saving vs context "
          "| vs factorized | escapes per 10^4 symbols |")
    print("|---|---|---|---|---|---|---|")
    for lv in levels:
        gain = np.array(lv["gain"], np.float32)[:, None, None]
        quantize = lambda m: np.round(m * gain).astype(np.int64)
        train_s = [quantize(m) for m in train_mu]
        weights = fit_predictor(train_s)
        zero = np.zeros_like(weights)
        flat_log_p = np.zeros((channels, width))
        for c, t in enumerate(lv["channels"]):
            learned = np.diff(np.array(t["cdf"], np.float64)) / TOTAL
            flat_log_p[c, :len(learned)] = np.log2(learned)
        # Context tables without the guess (for the printout), then with it (what is written).
        tables, log_p = {}, {}
        for name, w in (("alone", zero), ("guess", weights)):
            tables[name], log_p[name] = count_tables(train_s, w, lv["channels"], width)
        bits = {"flat": 0.0, "alone": 0.0, "guess": 0.0}
        pixels = escapes = symbols = 0
        for m, n_pixels in val_mu:
            s = quantize(m)
            k, _ = classes(s, 0)
            ch = np.broadcast_to(np.arange(channels)[:, None, None], s.shape)
            b = bins(s, lv["channels"])
            side = escape_bits(s, lv["channels"])
            bits["flat"] += side - flat_log_p[ch, b].sum()
            bits["alone"] += side - log_p["alone"][ch, k, b].sum()
            g = guess(s, weights)
            r = s - g
            k, _ = classes(s, g)
            b = bins(r, lv["channels"])
            bits["guess"] += escape_bits(r, lv["channels"]) - log_p["guess"][ch, k, b].sum()
            escapes += int(sum((b[c] == len(t["cdf"]) - 2).sum() for c, t in enumerate(lv["channels"])))
            symbols += s.size
            pixels += n_pixels
        lv["channels"] = tables["guess"]
        lv["predictor"] = {"shift": SHIFT, "weights": [int(v) for v in weights.ravel()]}
        flat, alone, guessed = (bits[k] / pixels for k in ("flat", "alone", "guess"))
        print(f"| {lv['quality'] or 'single'} | {flat:.4f} | {alone:.4f} | {guessed:.4f} "
              f"| {100 * (1 - guessed / alone):.1f} % | {100 * (1 - guessed / flat):.1f} % "
              f"| {1e4 * escapes / symbols:.2f} |", flush=True)
    prior["context"] = "neighbours+channels"
    if "qualities" not in prior:
        prior["channels"] = levels[0]["channels"]
        prior["predictor"] = levels[0]["predictor"]
    with open(os.path.join(args.model, "prior.json"), "w") as f:
        json.dump(prior, f, separators=(",", ":"))
    print(f"wrote {os.path.join(args.model, 'prior.json')}")


if __name__ == "__main__":
    main()
