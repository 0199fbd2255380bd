#!/usr/bin/env python3
"""Validation rate-distortion of the `latent` binary against Pillow JPEG (default 4:2:0) at the same bpp.

Compresses every image of DIR with the real runtime (file bytes, header included), decompresses it,
and compares PSNR-RGB with JPEG at the same bpp (log-bpp interpolation over quality 1..95).
Prints a markdown table. Usage: python3 rd_table.py DIR [--latent target/release/latent]
"""

import argparse
import glob
import io
import json
import math
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(255.0 ** 2 / mse)


def jpeg_at_bpp(rgb, target_bpp):
    points = []
    for q in range(1, 96, 2):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=q)
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        points.append((8 * len(buf.getvalue()) / (rgb.shape[0] * rgb.shape[1]), psnr(rgb, dec)))
    points.sort()
    return float(np.interp(math.log(target_bpp), np.log([p[0] for p in points]), [p[1] for p in points]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--latent", default="target/release/latent")
    ap.add_argument("--threads", default="2")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(os.path.join(args.dir, "*"))):
            lat, out = os.path.join(tmp, "x.lat"), os.path.join(tmp, "x.png")
            c = json.loads(subprocess.check_output([args.latent, "compress", path, "-o", lat, "--json",
                                                    "--threads", args.threads]))
            d = json.loads(subprocess.check_output([args.latent, "decompress", lat, "-o", out, "--json",
                                                    "--threads", args.threads]))
            rgb = np.asarray(Image.open(path).convert("RGB"))
            ours = psnr(rgb, np.asarray(Image.open(out).convert("RGB")))
            rows.append((os.path.basename(path), c["width"], c["height"], c["bpp"], ours,
                         jpeg_at_bpp(rgb, c["bpp"]), c["encode_ms"], d["decode_ms"]))
    print("| image | size | bpp | ours PSNR | JPEG PSNR at same bpp | Δ dB | encode ms | decode ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name, w, h, bpp, ours, jpeg, enc, dec in rows:
        print(f"| {name} | {w}x{h} | {bpp:.3f} | {ours:.2f} | {jpeg:.2f} | {ours - jpeg:+.2f} | {enc:.0f} | {dec:.0f} |")
    mean = [float(np.mean([r[i] for r in rows])) for i in (3, 4, 5)]
    print(f"| **mean** | | {mean[0]:.3f} | {mean[1]:.2f} | {mean[2]:.2f} | {mean[1] - mean[2]:+.2f} | | |")


if __name__ == "__main__":
    main()
