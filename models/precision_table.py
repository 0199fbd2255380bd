#!/usr/bin/env python3
"""What int8 costs against f32, measured with the `latent` binary on every image of DIR.

For each image: compress at f32 and at int8, decode each .lat at f32 and int8, and report PSNR-RGB of
the f32 pipeline, the change from decoding the f32 .lat at int8, the change of the whole int8 pipeline,
and the change in file size. Prints a markdown table with the mean and the worst image.

    python3 models/precision_table.py DATA/val [--latent target/release/latent] [--model DIR] [--quality Q]

(f16 is checked by tests/it/precision.rs on the sample photo: it only runs natively on aarch64 with fp16.)
"""

import argparse
import glob
import json
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

from common import REPO, psnr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--latent", default=os.path.join(REPO, "target", "release", "latent"))
    ap.add_argument("--model", help="codec bundle directory (default: the embedded model)")
    ap.add_argument("--quality", type=int, help="quality level to compress at (default: the model's)")
    args = ap.parse_args()
    model = ["--model", args.model] if args.model else []
    quality = ["--quality", str(args.quality)] if args.quality else []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        def run(*cmd):
            return json.loads(subprocess.check_output([args.latent, *cmd, "--json", "--threads", "2"]))

        for path in sorted(glob.glob(os.path.join(args.dir, "*"))):
            rgb = np.asarray(Image.open(path).convert("RGB"))
            got = {}
            for enc in ["f32", "int8"]:
                lat = os.path.join(tmp, f"{enc}.lat")
                c = run("compress", path, "-o", lat, "--precision", enc, *model, *quality)
                for dec in ["f32", "int8"]:
                    out = os.path.join(tmp, f"{enc}-{dec}.png")
                    run("decompress", lat, "-o", out, "--precision", dec, *model)
                    got[enc, dec] = psnr(rgb, np.asarray(Image.open(out).convert("RGB")))
                got[enc] = c["bytes"]
            rows.append((os.path.basename(path), rgb.shape[1], rgb.shape[0], 8 * got["f32"] / (rgb.shape[0] * rgb.shape[1]),
                         got["f32", "f32"], got["f32", "int8"] - got["f32", "f32"],
                         got["int8", "int8"] - got["f32", "f32"], 100 * (got["int8"] / got["f32"] - 1)))
    print("| image | size | bpp (f32) | PSNR f32 | Δ decode at int8 | Δ int8 pipeline | Δ bytes |")
    print("|---|---|---|---|---|---|---|")
    for name, w, h, bpp, p, d, pipe, b in rows:
        print(f"| {name} | {w}x{h} | {bpp:.3f} | {p:.2f} | {d:+.3f} dB | {pipe:+.3f} dB | {b:+.2f} % |")
    a = np.array([r[3:] for r in rows])
    print(f"| **mean** | | {a[:, 0].mean():.3f} | {a[:, 1].mean():.2f} | {a[:, 2].mean():+.3f} dB | "
          f"{a[:, 3].mean():+.3f} dB | {a[:, 4].mean():+.2f} % |")
    print(f"| **worst** | | | | {a[:, 2].min():+.3f} dB | {a[:, 3].min():+.3f} dB | "
          f"{a[:, 4][np.argmax(np.abs(a[:, 4]))]:+.2f} % |")


if __name__ == "__main__":
    main()
