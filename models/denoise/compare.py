#!/usr/bin/env python3
"""Quality and speed of the denoisers against OpenCV's non-local means and BM3D (issue 29's table).

The set: the 13 validation photos shrunk to at most --max-side px (1024, as the training crops),
colour and gray (luma, rounded to 8 bits), with Gaussian noise of sigma 15 / 25 / 50 (one fixed
seed per case, clipped and rounded to 8 bits). Every method denoises the same noisy pictures:
  - fast, quality: the release `latent denoise --model fast|quality` (blind: no sigma given), a
    folder at a time; fast-v1: the same with `--model models/denoise` (denoise-v1, the fast model
    before denoise-fast); `--model-dir NAME=DIR` runs a bundle directory under NAME instead;
  - nlm: cv2.fastNlMeansDenoisingColored (gray: fastNlMeansDenoising), template 7, search 21,
    h tuned per case over 0.6-1.2 sigma on these photos themselves (generous to NLM);
  - bm3d: the `bm3d` package (bm3d_rgb / bm3d), told the true sigma (non-blind).
PSNR is PSNR-RGB for colour and on the gray values for gray, after 8-bit rounding.

Speed (--timing): each method on one VGA photo (opencv__aero3, 640x480), colour and gray,
sigma 25, side by side in one run: ours and NLM on --threads threads, BM3D as the package runs
(its compiled core uses every core it finds), reported as seconds per megapixel (median of --repeats runs, the binary's on a folder of copies; BM3D once).

Results merge into metrics_compare.json beside this script, so the slow methods need running
only once: `--methods bm3d nlm` now, `--methods fast quality` when a model changes.
    python3 models/denoise/compare.py --data DATA --methods nlm bm3d fast quality
    python3 models/denoise/compare.py --data DATA --timing
    python3 models/denoise/compare.py --table        # the markdown table from the JSON
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import add_data_arg, psnr, shrink  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RESULTS = os.path.join(HERE, "metrics_compare.json")
METHODS = ("nlm", "bm3d", "fast-v1", "fast", "quality")
BINARY_MODELS = {"fast": "fast", "quality": "quality", "fast-v1": HERE}  # --model of each of ours
SIGMAS = (15, 25, 50)
TIMING_PHOTO = "opencv__aero3.jpg"
NLM_FACTORS = (0.6, 0.75, 0.9, 1.05, 1.2)


def luma(rgb):
    """8-bit luma (BT.601 weights), as train.py's gray cases."""
    return np.round(rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)


def cases(data, max_side):
    """{(kind, sigma): (names, clean pictures, noisy pictures)} for kind colour / gray."""
    names, photos = [], []
    for path in sorted(glob.glob(os.path.join(data, "val", "*"))):
        names.append(os.path.basename(path))
        photos.append(np.asarray(shrink(Image.open(path).convert("RGB"), max_side)))
    out = {}
    for g, kind in enumerate(("colour", "gray")):
        clean = [luma(p) if kind == "gray" else p for p in photos]
        for sigma in SIGMAS:
            rng = np.random.default_rng(1000 * g + sigma)
            noisy = [add_noise(c, sigma, rng) for c in clean]
            out[kind, sigma] = (names, clean, noisy)
    return out


def add_noise(clean, sigma, rng):
    return np.clip(np.round(clean + sigma * rng.standard_normal(clean.shape)), 0, 255).astype(np.uint8)


def run_nlm(noisy, h, kind):
    import cv2
    if kind == "gray":
        return cv2.fastNlMeansDenoising(noisy, None, h, 7, 21)
    return cv2.fastNlMeansDenoisingColored(noisy, None, h, h, 7, 21)


def run_bm3d(noisy, sigma, kind):
    import bm3d
    z = noisy / 255.0
    out = bm3d.bm3d(z, sigma / 255.0) if kind == "gray" else bm3d.bm3d_rgb(z, sigma / 255.0)
    return np.clip(np.round(np.asarray(out).reshape(noisy.shape) * 255), 0, 255).astype(np.uint8)


def run_binary(args, method, pictures, model_dirs):
    """The release binary on a folder of `pictures`: the denoised pictures in the same order and
    its JSON summary (latency percentiles per picture: read, denoise and write)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        os.makedirs(src)
        for i, n in enumerate(pictures):
            Image.fromarray(n).save(os.path.join(src, f"{i:03}.png"))
        out = subprocess.run([args.bin, "denoise", src, "-o", dst, "--threads", str(args.threads), "--json",
                              "--model", model_dirs.get(method, BINARY_MODELS[method])],
                             check=True, capture_output=True, text=True)
        denoised = [np.asarray(Image.open(os.path.join(dst, f"{i:03}.png"))) for i in range(len(pictures))]
        return denoised, json.loads(out.stdout)


def measure(args, method, data, model_dirs):
    rows = {}
    for (kind, sigma), (names, clean, noisy) in data.items():
        if method == "nlm":
            best = None
            for f in NLM_FACTORS:
                h = round(f * sigma, 1)
                vals = [psnr(run_nlm(n, h, kind), c) for n, c in zip(noisy, clean)]
                if best is None or np.mean(vals) > np.mean(best[1]):
                    best = (h, vals)
            h, vals = best
            row = {"h": h}
        elif method == "bm3d":
            vals, row = [psnr(run_bm3d(n, sigma, kind), c) for n, c in zip(noisy, clean)], {}
        else:
            outs, _ = run_binary(args, method, noisy, model_dirs)
            vals, row = [psnr(o, c) for o, c in zip(outs, clean)], {}
        row.update(psnr=round(float(np.mean(vals)), 3), per_image=[round(v, 3) for v in vals])
        rows[f"{kind} {sigma}"] = row
        print(f"{method:8} {kind:6} sigma {sigma:2}: {row['psnr']:.2f} dB", flush=True)
    return rows


def timing(args, data, model_dirs):
    """Seconds per megapixel of each method on the VGA photo, sigma 25."""
    out = {}
    for kind in ("colour", "gray"):
        names, clean, noisy = data[kind, 25]
        n = noisy[names.index(TIMING_PHOTO)]
        mp = n.shape[0] * n.shape[1] / 1e6
        for method in METHODS:
            if method in BINARY_MODELS:
                s = time_binary(args, method, n, model_dirs)
            else:
                run = (lambda: run_nlm(n, 0.9 * 25, kind)) if method == "nlm" else (lambda: run_bm3d(n, 25, kind))
                s = float(np.median([timed(run) for _ in range(1 if method == "bm3d" else args.repeats)]))
            out.setdefault(method, {})[kind] = round(s / mp, 4)
            print(f"{method:8} {kind:6}: {s / mp:.3f} s/MP", flush=True)
    return {"photo": TIMING_PHOTO, "threads": args.threads, "cores": os.cpu_count(), "seconds_per_mp": out}


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def time_binary(args, method, noisy, model_dirs):
    """Median seconds the binary takes per picture on a folder of --repeats copies of `noisy`
    (its latency p50; the first copy also optimizes the plan)."""
    _, summary = run_binary(args, method, [noisy] * args.repeats, model_dirs)
    return summary["latency_ms"]["p50"] / 1e3


def table(results):
    rows, times = results.get("rows", {}), results.get("timing", {}).get("seconds_per_mp", {})
    order = [m for m in ("noisy",) + METHODS if m in rows]
    cols = [f"{k} {s}" for k in ("colour", "gray") for s in SIGMAS]
    lines = ["| method | " + " | ".join(f"{c.replace(' ', ' σ ')}" for c in cols) + " | s/MP colour | s/MP gray |",
             "|---" * (len(cols) + 3) + "|"]
    for m in order:
        cells = [f"{rows[m][c]['psnr']:.2f}" if c in rows[m] else "" for c in cols]
        t = times.get(m, {})
        cells += [f"{t[k]:.3g}" if k in t else "" for k in ("colour", "gray")]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(p)
    p.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "latent"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-side", type=int, default=1024)
    p.add_argument("--methods", nargs="*", choices=METHODS, default=[])
    p.add_argument("--model-dir", action="append", default=[], metavar="NAME=DIR",
                   help="run `latent denoise --model DIR` as method NAME (one of ours)")
    p.add_argument("--timing", action="store_true", help="seconds per megapixel of every method")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--table", action="store_true", help="print the markdown table of the results")
    args = p.parse_args()
    model_dirs = dict(m.split("=", 1) for m in args.model_dir)
    results = {}
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            results = json.load(f)
    if args.methods or args.timing:
        try:
            import cv2
            cv2.setNumThreads(args.threads)
        except ImportError:
            sys.exit("compare.py: OpenCV is missing (pip install opencv-python-headless bm3d)")
        data = cases(args.data, args.max_side)
        if results.get("max_side") != args.max_side:
            results = {}
        results.update(max_side=args.max_side, photos=data["colour", 25][0], threads=args.threads)
        rows = results.setdefault("rows", {})
        rows["noisy"] = {f"{k} {s}": {"psnr": round(float(np.mean([psnr(n, c) for n, c in zip(v[2], v[1])])), 3)}
                         for (k, s), v in data.items()}
        for method in args.methods:
            rows[method] = measure(args, method, data, model_dirs)
            with open(RESULTS, "w") as f:
                json.dump(results, f, indent=1)
        if args.timing:
            results["timing"] = timing(args, data, model_dirs)
        with open(RESULTS, "w") as f:
            json.dump(results, f, indent=1)
    print(table(results))


if __name__ == "__main__":
    main()
