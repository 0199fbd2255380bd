#!/usr/bin/env python3
"""What a denoiser bundle's int8 graph costs against its f32 graph, in onnxruntime: the validation
photos of DIR (native size, cropped to multiples of 16), Gaussian noise (numpy seed 0, 8-bit,
clipped), colour and gray (the luma in all three channels), sigma 15 / 25 / 50. Prints the mean and
the worst photo's change in PSNR (the figures in models/PRECISION.md, "The denoisers").

    python3 models/denoise/int8_table.py --data DIR models/denoise-fast [--f32 OTHER.onnx]
"""

import argparse
import os
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import add_data_arg, load_photos, psnr  # noqa: E402

MULTIPLE = 16


def run(session, noisy):
    x = (noisy / 255).astype(np.float32).transpose(2, 0, 1)[None]
    return np.clip(np.round(session.run(None, {"image": x})[0][0].transpose(1, 2, 0) * 255), 0, 255)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_arg(ap)
    ap.add_argument("bundle")
    ap.add_argument("--f32", help="the f32 graph to compare with (default: the bundle's denoiser.onnx)")
    args = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    f32 = ort.InferenceSession(args.f32 or os.path.join(args.bundle, "denoiser.onnx"), so,
                               providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(os.path.join(args.bundle, "denoiser.int8.onnx"), so,
                                providers=["CPUExecutionProvider"])
    photos = load_photos(os.path.join(args.data, "val"))
    print("| | sigma | f32 dB | int8 dB | mean change | worst photo |")
    print("|---|---|---|---|---|---|")
    for gray in (False, True):
        for sigma in (15, 25, 50):
            rng = np.random.default_rng(0)
            got = []
            for p in photos:
                h, w = p.shape[0] // MULTIPLE * MULTIPLE, p.shape[1] // MULTIPLE * MULTIPLE
                clean = p[:h, :w].astype(np.float64)
                if gray:
                    clean = np.repeat(np.round(clean @ [0.299, 0.587, 0.114])[..., None], 3, axis=2)
                noise = sigma * rng.standard_normal(clean.shape[:2] + ((1,) if gray else (3,)))
                noisy = np.clip(np.round(clean + noise), 0, 255) * np.ones((1, 1, 3))
                got.append((psnr(run(f32, noisy), clean), psnr(run(int8, noisy), clean)))
            got = np.array(got)
            change = got[:, 1] - got[:, 0]
            print(f"| {'gray' if gray else 'colour'} | {sigma} | {got[:, 0].mean():.3f} | {got[:, 1].mean():.3f} "
                  f"| {change.mean():+.3f} | {change.min():+.3f} |")


if __name__ == "__main__":
    main()
