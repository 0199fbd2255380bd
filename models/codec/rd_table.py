#!/usr/bin/env python3
"""Validation rate-distortion of the `latent` binary against Pillow JPEG (default 4:2:0) at the same bpp.

Compresses every image of DIR with the real runtime (file bytes, header included), decompresses it,
and compares PSNR-RGB with JPEG at the same bpp (log-bpp interpolation over quality 1..95).
Prints a markdown table. Usage: python3 rd_table.py DIR [--latent target/release/latent] [--precision f32]
"""

import argparse
import glob
import json
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

from jpeg_reference import jpeg_at_bpp, psnr






def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--latent", default="target/release/latent")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--precision", default="f32", help="f32, f16, int8 or auto")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(os.path.join(args.dir, "*"))):
            lat, out = os.path.join(tmp, "x.lat"), os.path.join(tmp, "x.png")
            opts = ["--json", "--threads", args.threads, "--precision", args.precision]
            c = json.loads(subprocess.check_output([args.latent, "compress", path, "-o", lat, *opts]))
            d = json.loads(subprocess.check_output([args.latent, "decompress", lat, "-o", out, *opts]))
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
