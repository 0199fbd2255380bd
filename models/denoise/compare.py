#!/usr/bin/env python3
"""Quality and speed table of the denoiser against OpenCV's non-local means and BM3D.

On the validation photos with Gaussian noise of sigma 25 (fixed seed, clipped, 8-bit), it runs
  - ours: the release `latent denoise` binary on each noisy PNG (blind: no sigma given), timed per photo;
  - NLM: cv2.fastNlMeansDenoisingColored with h = hColor tuned over a grid and the best mean PSNR reported
    (generous to NLM: tuned on the test photos themselves), template 7, search 21;
  - BM3D (with --bm3d; slow: minutes per large photo): bm3d.bm3d_rgb told the true sigma (non-blind).
Writes metrics_compare.json beside this script and prints a table.
    python3 models/denoise/compare.py --data DATA [--bin target/release/latent] [--threads 2]
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
from common import add_data_arg, psnr  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(p)
    p.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "latent"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sigma", type=float, default=25)
    p.add_argument("--bm3d", action="store_true", help="also run BM3D (pip install bm3d)")
    args = p.parse_args()
    import cv2
    cv2.setNumThreads(args.threads)
    rng = np.random.default_rng(0)
    photos = []
    for f in sorted(glob.glob(os.path.join(args.data, "val", "*"))):
        clean = np.asarray(Image.open(f).convert("RGB"))
        noisy = np.clip(np.round(clean + args.sigma * rng.standard_normal(clean.shape)), 0, 255).astype(np.uint8)
        photos.append((os.path.basename(f), clean, noisy))
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        ours, t_ours = [], 0.0
        for name, clean, noisy in photos:
            src, dst = os.path.join(tmp, "in.png"), os.path.join(tmp, "out.png")
            Image.fromarray(noisy).save(src)
            out = subprocess.run([args.bin, "denoise", src, "-o", dst, "--threads", str(args.threads), "--json"],
                                 check=True, capture_output=True, text=True)
            t_ours += json.loads(out.stdout)["ms"] / 1e3
            ours.append(psnr(np.asarray(Image.open(dst).convert("RGB")), clean))
        rows["ours"] = {"psnr": float(np.mean(ours)), "seconds": t_ours, "per_image": ours}
    best = None
    for h in (18, 21, 24, 27):
        vals, t = [], 0.0
        for _, clean, noisy in photos:
            t0 = time.time()
            out = cv2.fastNlMeansDenoisingColored(noisy, None, h, h, 7, 21)
            t += time.time() - t0
            vals.append(psnr(out, clean))
        print(f"NLM h={h}: {np.mean(vals):.2f} dB, {t:.1f} s", flush=True)
        if best is None or np.mean(vals) > best["psnr"]:
            best = {"psnr": float(np.mean(vals)), "seconds": t, "h": h, "per_image": vals}
    rows["nlm"] = best
    if args.bm3d:
        import bm3d
        vals, t = [], 0.0
        for _, clean, noisy in photos:
            t0 = time.time()
            out = bm3d.bm3d_rgb(noisy / 255.0, args.sigma / 255.0)
            t += time.time() - t0
            vals.append(psnr(np.clip(np.round(out * 255), 0, 255), clean))
        rows["bm3d"] = {"psnr": float(np.mean(vals)), "seconds": t, "per_image": vals}
    rows["noisy"] = {"psnr": float(np.mean([psnr(n, c) for _, c, n in photos]))}
    result = {"sigma": args.sigma, "photos": [n for n, _, _ in photos], "threads": args.threads, "rows": rows}
    with open(os.path.join(HERE, "metrics_compare.json"), "w") as f:
        json.dump(result, f, indent=1)
    for k, v in rows.items():
        print(f"{k:6} {v['psnr']:.2f} dB" + (f"  {v['seconds']:.1f} s" if "seconds" in v else ""))


if __name__ == "__main__":
    main()
