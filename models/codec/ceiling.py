#!/usr/bin/env python3
"""Where the codec's curve can go at all: its top against WebP, on the validation photos.

For every photo of DIR (at max side --side, Lanczos), prints PSNR-RGB of
* `q8`: the encoder's μ at quality 8, rounded as the codec does (any rate: no bits counted);
* `decoder top`: the best decoder input for that photo, found by Adam on the MSE alone
  (--iters steps from q8's latent, nothing rounded): what the decoder can draw at all, so what
  no encoder, rounding or entropy coder can beat;
* `linear 128`: a fixed linear basis with the latent's 128 numbers per 16x16 block: the first
  128 principal components of 16x16x3 blocks of the training photos (--train), none of them
  switched off;
* WebP (Pillow, method 6) at 0.5 and 1.0 bpp (`jpeg_reference.webp_at_bpp`).
Then the means. Usage: python3 ceiling.py DIR/val --train DIR/train [--iters 300] [--side 512]
"""

import argparse
import glob
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import psnr, shrink  # noqa: E402

from jpeg_reference import webp_at_bpp
from train import Codec, pad_to_stride, to_rgb8, to_tensor
from train_rate import VariableRate, load_checkpoint

BLOCK, KEEP = 16, 128


def blocks(rgb):
    h, w = rgb.shape[0] // BLOCK * BLOCK, rgb.shape[1] // BLOCK * BLOCK
    b = rgb[:h, :w].astype(np.float64).reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK, 3)
    return b.transpose(0, 2, 1, 3, 4).reshape(-1, BLOCK * BLOCK * 3)


def linear_basis(paths, side, rng):
    """Mean and the first KEEP principal directions of BLOCK² x 3 blocks (400 a photo)."""
    sample = []
    for path in paths:
        b = blocks(np.asarray(shrink(Image.open(path).convert("RGB"), side)))
        sample.append(b[rng.choice(len(b), min(400, len(b)), replace=False)])
    sample = np.concatenate(sample)
    mean = sample.mean(0)
    return mean, np.linalg.svd(sample - mean, full_matrices=False)[2][:KEEP]


def linear_psnr(rgb, mean, basis):
    b = blocks(rgb) - mean
    return psnr(np.clip(np.round(b @ basis.T @ basis + mean), 0, 255), b + mean)


def line(name, values):
    return f"{name[:28]:28} " + " ".join(f"{v:{n}.2f}" for v, n in zip(values, (6, 11, 10, 8, 8)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("val", help="folder of validation photos")
    ap.add_argument("--train", required=True, help="folder of training photos (for the linear basis)")
    ap.add_argument("--checkpoint", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                         "checkpoint_rate.pt"))
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--limit", type=int, default=0, help="the first N photos only")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    state, lmbdas, channels, layout = load_checkpoint(args.checkpoint)
    model = VariableRate(Codec(*channels, *layout), lmbdas)
    model.load_state_dict(state)
    model.eval().requires_grad_(False)
    mean, basis = linear_basis(sorted(glob.glob(os.path.join(args.train, "*"))), args.side,
                               np.random.default_rng(0))
    g, h_inv = model.gains(len(lmbdas) - 1)
    rows = []
    print(f"{'photo':28} {'q8':>6} {'decoder top':>11} {'linear 128':>10} {'WebP 0.5':>8} {'WebP 1.0':>8}")
    for path in sorted(glob.glob(os.path.join(args.val, "*")))[:args.limit or None]:
        rgb = np.asarray(shrink(Image.open(path).convert("RGB"), args.side))
        x = to_tensor(rgb)
        xp, h, w = pad_to_stride(x, layout[1])
        latent = torch.round(model.encoder(xp)[0] * g) * h_inv
        q8 = psnr(rgb, to_rgb8(model.decoder(latent)[..., :h, :w]))
        z = latent.clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=0.02)
        for _ in range(args.iters):
            loss = ((model.decoder(z)[..., :h, :w] - x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            top = psnr(rgb, to_rgb8(model.decoder(z)[..., :h, :w]))
        row = [q8, top, linear_psnr(rgb, mean, basis),
               *(webp_at_bpp(rgb, t) or float("nan") for t in (0.5, 1.0))]
        rows.append(row)
        print(line(os.path.basename(path), row), flush=True)
    print(line("mean", np.nanmean(np.array(rows), 0)))


if __name__ == "__main__":
    main()
