#!/usr/bin/env python3
"""Validation rate-distortion of the `latent` binary against Pillow JPEG (default 4:2:0) and WebP
(method 6) at the same bpp.

Compresses every image of DIR with the real runtime (file bytes, header included), decompresses it,
and compares PSNR-RGB with JPEG and WebP at the same bpp (log-bpp interpolation over their quality
sweeps; "-" where a sweep does not reach that bpp, left out of that column's mean).
Prints a markdown table.
Usage: python3 rd_table.py DIR [--latent target/release/latent] [--precision f32] [--quality Q]
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import REPO, psnr  # noqa: E402

from jpeg_reference import jpeg_at_bpp, webp_at_bpp






def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--latent", default=os.path.join(REPO, "target", "release", "latent"))
    ap.add_argument("--threads", default="2")
    ap.add_argument("--precision", default="f32", help="f32, f16, int8 or auto")
    ap.add_argument("--quality", help="quality level (default: the model's)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(os.path.join(args.dir, "*"))):
            lat, out = os.path.join(tmp, "x.lat"), os.path.join(tmp, "x.png")
            opts = ["--json", "--threads", args.threads, "--precision", args.precision]
            quality = ["--quality", args.quality] if args.quality else []
            c = json.loads(subprocess.check_output([args.latent, "compress", path, "-o", lat, *opts, *quality]))
            d = json.loads(subprocess.check_output([args.latent, "decompress", lat, "-o", out, *opts]))
            rgb = np.asarray(Image.open(path).convert("RGB"))
            ours = psnr(rgb, np.asarray(Image.open(out).convert("RGB")))
            rows.append((os.path.basename(path), c["width"], c["height"], c["bpp"], ours,
                         jpeg_at_bpp(rgb, c["bpp"]), webp_at_bpp(rgb, c["bpp"]), c["encode_ms"], d["decode_ms"]))
    print("| image | size | bpp | ours PSNR | JPEG at same bpp | Δ | WebP at same bpp | Δ | encode ms | decode ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    cell = lambda ref, ours: ("-", "-") if ref is None else (f"{ref:.2f}", f"{ours - ref:+.2f}")
    for name, w, h, bpp, ours, jpeg, webp, enc, dec in rows:
        j, dj = cell(jpeg, ours)
        wp, dw = cell(webp, ours)
        print(f"| {name} | {w}x{h} | {bpp:.3f} | {ours:.2f} | {j} | {dj} | {wp} | {dw} | {enc:.0f} | {dec:.0f} |")

    def mean_delta(i):
        pairs = [(r[4], r[i]) for r in rows if r[i] is not None]
        return f"{np.mean([o - ref for o, ref in pairs]):+.2f} ({len(pairs)} images)"
    print(f"| **mean** | | {np.mean([r[3] for r in rows]):.3f} | {np.mean([r[4] for r in rows]):.2f} | "
          f"| {mean_delta(5)} | | {mean_delta(6)} | | |")

if __name__ == "__main__":
    main()
