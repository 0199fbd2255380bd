#!/usr/bin/env python3
"""Training-log rows for the codec model cards: validation PSNR at 0.25 / 0.5 / 1.0 bpp and BD-rate against
WebP, from the per-photo rows that train_rate.py writes to metrics_rate.json (its bits are the ideal code
length under the learned factorized tables, the same measure at every stage, above what the context tables
code in a .lat).

Per photo, as `latent eval` computes them (src/report/eval.rs): the Pareto front of the levels' points, PSNR
interpolated in log-bpp and never extrapolated (a rate's mean is over the photos whose curves reach it,
WebP's over the same photos), and BD-rate with log-rate interpolated piecewise linearly in PSNR over the
range both curves cover; the row gives the mean of the photos' BD-rates. WebP's curves (Pillow, method 6)
are computed once and kept in webp_val.json beside this script.

With --gray (a gray model's metrics, models/codec-gray) the photos are their luma (Pillow's "L") and the
reference is the better of gray JPEG and WebP (Pillow) per photo: the Pareto front of both sweeps, kept in
gray_val.json.

    python3 models/codec/train_log.py --data DATA models/codec-v5/metrics_rate.json models/codec/metrics_rate.json
"""

import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image

from jpeg_reference import jpeg_curve, webp_curve

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import add_data_arg  # noqa: E402

RATES = (0.25, 0.5, 1.0)
HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "webp_val.json")
GRAY_CACHE = os.path.join(HERE, "gray_val.json")


def pareto(points):
    """The (bpp, PSNR) points no other point beats (fewer or equal bits, higher PSNR), by bpp."""
    front = []
    for bpp, p in sorted((b, p) for b, p in points if b > 0 and math.isfinite(p)):
        if not front or p > front[-1][1]:
            if front and front[-1][0] == bpp:
                front.pop()
            front.append((bpp, p))
    return front


def psnr_at(front, bpp):
    x = math.log(bpp)
    for (b0, p0), (b1, p1) in zip(front, front[1:]):
        a, b = math.log(b0), math.log(b1)
        if a <= x <= b:
            return p0 + (p1 - p0) * (x - a) / (b - a)
    return None


def log_rate_at(front, psnr):
    for (b0, p0), (b1, p1) in zip(front, front[1:]):
        if p0 <= psnr <= p1:
            a, b = math.log(b0), math.log(b1)
            return a + (b - a) * (psnr - p0) / (p1 - p0)
    return None


def bd_rate(anchor, test, steps=1000):
    """Percent more bits `test` needs than `anchor` at equal PSNR (negative: fewer); None without overlap."""
    if len(anchor) < 2 or len(test) < 2:
        return None
    lo, hi = max(anchor[0][1], test[0][1]), min(anchor[-1][1], test[-1][1])
    if hi <= lo:
        return None
    total = 0.0
    for i in range(steps + 1):
        p = lo + (hi - lo) * i / steps
        total += (0.5 if i in (0, steps) else 1.0) * (log_rate_at(test, p) - log_rate_at(anchor, p))
    return (math.exp(total / steps) - 1.0) * 100.0


def reference_curves(val_dir, images, gray=False):
    """The reference's Pareto front per validation photo, from the cache (computed for the photos it lacks):
    WebP on the colour photos, or the better of JPEG and WebP on their luma."""
    path = GRAY_CACHE if gray else CACHE
    cache = {}
    if os.path.exists(path):
        with open(path) as f:
            cache = json.load(f)
    missing = [name for name in images if name not in cache]
    for name in missing:
        print(f"{'JPEG and WebP' if gray else 'WebP'} sweep of {name}", file=sys.stderr, flush=True)
        a = np.asarray(Image.open(os.path.join(val_dir, name)).convert("L" if gray else "RGB"))
        cache[name] = jpeg_curve(a) + webp_curve(a) if gray else webp_curve(a)
    if missing:
        with open(path, "w") as f:
            json.dump(cache, f, indent=0)
    return {name: pareto(cache[name]) for name in images}


def summary(rows, webp):
    """{rate: (ours, WebP, photos)} at RATES and the mean BD-rate against WebP (with its photo count)."""
    ours = {}
    for r in rows:
        ours.setdefault(r["image"], []).append((r["bpp"], r["psnr"]))
    ours = {name: pareto(points) for name, points in ours.items()}
    at = {}
    for rate in RATES:
        pairs = [(psnr_at(front, rate), psnr_at(webp[name], rate)) for name, front in ours.items()]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        at[rate] = (np.mean([a for a, _ in pairs]) if pairs else None,
                    np.mean([b for _, b in pairs]) if pairs else None, len(pairs))
    bds = [bd for bd in (bd_rate(webp[name], front) for name, front in ours.items()) if bd is not None]
    return at, (float(np.mean(bds)) if bds else None, len(bds))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("metrics", nargs="+", help="metrics_rate.json files (one row each)")
    add_data_arg(ap, "folder made by shared/data/gather-images.sh (its val/)")
    ap.add_argument("--gray", action="store_true", help="a gray model's metrics: against gray JPEG/WebP")
    args = ap.parse_args()
    ref = "the better of JPEG/WebP" if args.gray else "WebP"
    print("| run | steps | seconds | " + " | ".join(f"{r} bpp: dB (photos), minus {ref}" for r in RATES)
          + f" | BD-rate vs {ref} | per level, bpp / dB |")
    print("|---" * (5 + len(RATES)) + "|")
    for path in args.metrics:
        with open(path) as f:
            record = json.load(f)
        rows = record["val"]
        webp = reference_curves(os.path.join(args.data, "val"), sorted({r["image"] for r in rows}), args.gray)
        at, (bd, n) = summary(rows, webp)
        cells = [f"{o:.2f} ({k}), {o - w:+.2f}" if k else "- (0)" for o, w, k in at.values()]
        levels = sorted({r["quality"] for r in rows})
        per_level = " · ".join(
            f"{np.mean([r['bpp'] for r in rows if r['quality'] == q]):.3f} / "
            f"{np.mean([r['psnr'] for r in rows if r['quality'] == q]):.2f}" for q in levels)
        train = record["train"]
        print(f"| {path} | {train.get('steps_run', train.get('steps'))} | {train.get('seconds')} | "
              + " | ".join(cells) + f" | {'-' if bd is None else f'{bd:+.1f} %'} ({n}) | {per_level} |")


if __name__ == "__main__":
    main()
