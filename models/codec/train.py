#!/usr/bin/env python3
"""Train the default photo codec of latent-codec and export its model bundle.

A convolutional VAE for lossy compression (Ballé et al. 2017/2018 "factorized prior" family):

* encoder: 4 stride-2 5x5 convolutions with simplified GDN, then two heads, mu and log sigma
  (latent: 128 channels at 1/16 of the image resolution); stage widths ENCODER_CHANNELS;
* posterior sample during training: z = mu + u + sigma * eps, u ~ U(-1/2, 1/2) (the quantization proxy:
  coding rounds mu to integers), eps ~ N(0, 1) (the VAE's reparameterized Gaussian);
* loss: lambda * 255^2 * MSE(x, decoder(z)) + rate + beta * KL(N(0, sigma^2) || N(0, 1)), where rate =
  -log2 p(mu + u) is the KL/rate term of the uniform part under the learned factorized prior (the bits of
  the quantized mean), all per pixel; at coding time the decoder gets round(mu), the posterior mean;
* decoder: 3x3 convolution + depth-to-space (pixel shuffle) per 2x upsampling, simplified IGDN; stage
  widths DECODER_CHANNELS (train_rate.py can widen them);
* the prior (one non-parametric density per channel) becomes integer CDF tables (16-bit) for the
  rANS coder of the runtime.

Outputs, in --out (default: this directory): encoder.onnx (image -> mu), decoder.onnx (latent -> image),
prior.json (CDF tables), metrics.json (validation rate-distortion next to Pillow JPEG).

Reproduce: bash ../../shared/data/gather-images.sh DATA && python3 train.py --data DATA
"""

import argparse
import glob
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import add_data_arg, load_photos, portable, psnr  # noqa: E402

from jpeg_reference import jpeg_at_bpp

LATENT = 128
ENCODER_CHANNELS = (48, 64, 96)  # the analysis stages' widths (codec-v1..v4)
DECODER_CHANNELS = (96, 64, 48)  # the synthesis stages' widths (codec-v1..v4)
STRIDE = 16
CDF_PRECISION = 16
TAIL_MASS = 1e-6


class GDN(nn.Module):
    """Simplified (inverse) GDN: x / (beta + gamma |x|), or x * (...) when inverse (Johnston et al. 2019)."""

    def __init__(self, ch, inverse=False):
        super().__init__()
        self.inverse = inverse
        self.gamma = nn.Parameter(torch.eye(ch) * 0.1 + 1e-3)
        self.beta = nn.Parameter(torch.ones(ch))

    def weights(self):
        gamma = self.gamma.clamp(min=0.0)
        beta = self.beta.clamp(min=1e-3)
        return gamma[:, :, None, None], beta

    def forward(self, x):
        gamma, beta = self.weights()
        norm = F.conv2d(x.abs(), gamma, beta)
        return x * norm if self.inverse else x / norm


def last_step(stride):
    """The stride of the latent's own layers (the mu head, the decoder's first upsampling) for a latent at
    1/`stride` of the image: 2 at 16 (four halvings), 1 at 8 (the three stages alone)."""
    if stride not in (8, 16):
        raise ValueError(f"latent stride {stride}: want 8 or 16")
    return stride // 8


class Encoder(nn.Module):
    def __init__(self, channels=ENCODER_CHANNELS, latent=LATENT, stride=STRIDE, colours=3):
        super().__init__()
        c = [colours, *channels]
        self.body = nn.Sequential(
            nn.Conv2d(c[0], c[1], 5, 2, 2), GDN(c[1]),
            nn.Conv2d(c[1], c[2], 5, 2, 2), GDN(c[2]),
            nn.Conv2d(c[2], c[3], 5, 2, 2), GDN(c[3]),
        )
        s = last_step(stride)
        self.mu = nn.Conv2d(c[3], latent, 5, s, 2)
        self.log_sigma = nn.Conv2d(c[3], latent, 3, s, 1)

    def forward(self, x):
        h = self.body(x - 0.5)
        return self.mu(h), self.log_sigma(h).clamp(-6.0, 0.0)


class Decoder(nn.Module):
    """At stride 8 the first stage does not upsample (an Identity keeps the layer indices of stride 16's, so a
    stride-16 checkpoint's later stages load by name)."""

    def __init__(self, channels=DECODER_CHANNELS, latent=LATENT, stride=STRIDE, colours=3):
        super().__init__()
        self.latent = latent
        c = [latent, *channels]
        up = last_step(stride)
        self.body = nn.Sequential(
            nn.Conv2d(c[0], up * up * c[1], 3, 1, 1), nn.PixelShuffle(2) if up == 2 else nn.Identity(),
            GDN(c[1], inverse=True),
            nn.Conv2d(c[1], 4 * c[2], 3, 1, 1), nn.PixelShuffle(2), GDN(c[2], inverse=True),
            nn.Conv2d(c[2], 4 * c[3], 3, 1, 1), nn.PixelShuffle(2), GDN(c[3], inverse=True),
            nn.Conv2d(c[3], 4 * colours, 3, 1, 1), nn.PixelShuffle(2),
        )

    def forward(self, z):
        return self.body(z) + 0.5


class FactorizedPrior(nn.Module):
    """Ballé et al. 2018 non-parametric per-channel density, as a learned cumulative c(x)."""

    def __init__(self, ch, filters=(3, 3, 3), init_scale=10.0):
        super().__init__()
        dims = (1,) + filters + (1,)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices, self.biases, self.factors = nn.ParameterList(), nn.ParameterList(), nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((ch, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(ch, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(ch, dims[i + 1], 1)))

    def logits_cumulative(self, x):
        """x: (C, 1, N) -> logits of the cumulative, same shape."""
        for i in range(len(self.matrices)):
            x = torch.matmul(F.softplus(self.matrices[i]), x) + self.biases[i]
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i]) * torch.tanh(x)
        return x

    def likelihood(self, y):
        """y: (B, C, H, W) -> probability mass of [y - 1/2, y + 1/2] under each channel's density."""
        b, c, h, w = y.shape
        v = y.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower = self.logits_cumulative(v - 0.5)
        upper = self.logits_cumulative(v + 0.5)
        sign = -torch.sign(lower + upper).detach()
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        return p.reshape(c, b, h, w).permute(1, 0, 2, 3).clamp(min=1e-9)

    @torch.no_grad()
    def cdf_tables(self, span=256):
        """Integer CDF tables: per channel, symbols lo..hi then one escape symbol; total 2^CDF_PRECISION."""
        ch = self.matrices[0].shape[0]
        k = torch.arange(-span, span + 1, dtype=torch.float32)
        grid = k.reshape(1, 1, -1).repeat(ch, 1, 1)
        upper = torch.sigmoid(self.logits_cumulative(grid + 0.5))[:, 0, :]
        lower = torch.sigmoid(self.logits_cumulative(grid - 0.5))[:, 0, :]
        pmf = (upper - lower).clamp(min=0.0).double().numpy()
        below = torch.sigmoid(self.logits_cumulative(grid - 0.5))[:, 0, :].double().numpy()
        above = 1.0 - torch.sigmoid(self.logits_cumulative(grid + 0.5))[:, 0, :].double().numpy()
        tables = []
        total = 1 << CDF_PRECISION
        for c in range(ch):
            lo_i = int(np.argmax(below[c] > TAIL_MASS)) - 1
            hi_i = len(k) - int(np.argmax(above[c][::-1] > TAIL_MASS))
            lo_i, hi_i = max(lo_i, 0), min(hi_i, len(k) - 1)
            p = pmf[c, lo_i:hi_i + 1]
            escape = max(1.0 - p.sum(), 0.0)
            probs = np.append(p, escape)
            freqs = quantize_pmf(probs, total)
            cdf = np.concatenate([[0], np.cumsum(freqs)]).astype(np.int64)
            tables.append({"offset": int(k[lo_i]), "cdf": [int(v) for v in cdf]})
        return tables


def quantize_pmf(probs, total):
    """Integer frequencies >= 1 summing to `total`, close to `probs` (largest remainder)."""
    n = len(probs)
    probs = probs / probs.sum()
    freqs = np.maximum(np.floor(probs * (total - n)).astype(np.int64), 0) + 1
    rest = total - freqs.sum()
    order = np.argsort(-(probs * (total - n) - np.floor(probs * (total - n))))
    for i in range(rest):
        freqs[order[i % n]] += 1
    assert freqs.sum() == total and freqs.min() >= 1
    return freqs


class Codec(nn.Module):
    """The VAE: `latent` channels at 1/`stride` of the image (codec-v1..v4: 128 at 16) of a picture with
    `colours` channels (3: RGB, 1: gray)."""

    def __init__(self, encoder_channels=ENCODER_CHANNELS, decoder_channels=DECODER_CHANNELS, latent=LATENT,
                 stride=STRIDE, colours=3):
        super().__init__()
        self.latent, self.stride, self.colours = latent, stride, colours
        self.encoder = Encoder(encoder_channels, latent, stride, colours)
        self.decoder = Decoder(decoder_channels, latent, stride, colours)
        self.prior = FactorizedPrior(latent)

    def forward(self, x):
        mu, log_sigma = self.encoder(x)
        mu_noisy = mu + torch.empty_like(mu).uniform_(-0.5, 0.5)
        sigma = log_sigma.exp()
        z = mu_noisy + sigma * torch.randn_like(mu)
        x_hat = self.decoder(z)
        bits = -torch.log2(self.prior.likelihood(mu_noisy)).sum()
        # KL of the Gaussian part of the posterior against a unit Gaussian, in bits.
        gauss_kl = ((0.5 * (sigma ** 2 - 1) - log_sigma) / math.log(2)).sum()
        return x_hat, bits, gauss_kl


def random_crops(photos, batch, size, rng, device="cpu"):
    """`batch` random `size` crops of `photos` (H x W x C arrays), half of them mirrored, as floats in [0, 1]
    on `device` (moved as bytes: converting there is most of the work when a GPU trains)."""
    out = np.empty((batch, size, size, photos[0].shape[2]), np.uint8)
    for i in range(batch):
        while True:
            p = photos[rng.randrange(len(photos))]
            if p.shape[0] >= size and p.shape[1] >= size:
                break
        y, x = rng.randrange(p.shape[0] - size + 1), rng.randrange(p.shape[1] - size + 1)
        crop = p[y:y + size, x:x + size]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out[i] = crop
    return torch.from_numpy(out).to(device).permute(0, 3, 1, 2).float().div(255.0)


def to_tensor(rgb):
    """An H x W x C uint8 array as a 1 x C x H x W float batch in [0, 1]."""
    return torch.tensor(rgb).permute(2, 0, 1)[None].float().div(255.0)


def to_rgb8(x):
    """The first image of a float batch in [0, 1] as an H x W x C uint8 array (clamped, rounded)."""
    return (x[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def pad_to_stride(x, stride=STRIDE):
    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    return F.pad(x, (0, pw, 0, ph), mode="replicate"), h, w




def ideal_bits(q, tables):
    """Ideal code length in bits of the integer latent `q` (C, H, W) under the integer CDF tables (the rANS
    stream is within bytes of it); values outside a table cost the escape symbol plus their Elias-gamma bits."""
    bits = 0.0
    total = float(1 << CDF_PRECISION)
    for c, t in enumerate(tables):
        cdf = np.asarray(t["cdf"])
        n = len(cdf) - 2
        s = q[c] - t["offset"]
        inside = (s >= 0) & (s < n)
        freqs = np.diff(cdf)
        bits += float(np.sum(-np.log2(freqs[s[inside]] / total)))
        escapes = q[c][~inside]
        if escapes.size:
            d = np.where(escapes < t["offset"], t["offset"] - escapes, escapes - (t["offset"] + n - 1))
            bits += float(np.sum(-np.log2(freqs[n] / total) + 6 + np.floor(np.log2(d))))
    return bits


@torch.no_grad()
def code_image(model, tables, rgb):
    """Real quantization + ideal code length under the integer tables."""
    xp, h, w = pad_to_stride(to_tensor(rgb))
    mu, _ = model.encoder(xp)
    q = torch.round(mu)[0].numpy().astype(np.int64)
    bits = ideal_bits(q, tables)
    x_hat = model.decoder(torch.from_numpy(q)[None].float())[..., :h, :w]
    return bits / (h * w), psnr(rgb, to_rgb8(x_hat))


def evaluate(model, tables, pattern):
    rows = []
    for path in sorted(glob.glob(pattern)):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        bpp, ours = code_image(model, tables, rgb)
        rows.append({"image": os.path.basename(path), "width": rgb.shape[1], "height": rgb.shape[0],
                     "bpp": bpp, "psnr": ours, "jpeg_psnr_same_bpp": jpeg_at_bpp(rgb, bpp)})
        jpeg = rows[-1]["jpeg_psnr_same_bpp"]
        print(f"  {rows[-1]['image']:48s} {bpp:.3f} bpp  ours {ours:.2f} dB  jpeg {'-' if jpeg is None else f'{jpeg:.2f}'} dB",
              flush=True)
    return rows


@torch.no_grad()
def macs_per_pixel(module, x):
    """Multiply-accumulates per image pixel of the convolutions in `module` on input `x`."""
    total = [0]

    def hook(layer, inputs, output):
        if isinstance(layer, GDN):  # a 1x1 convolution over |x|
            total[0] += output.numel() * output.shape[1]
        else:
            k = layer.kernel_size[0] * layer.kernel_size[1]
            total[0] += output.numel() * layer.in_channels // layer.groups * k

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, GDN))]
    module(x)
    for h in handles:
        h.remove()
    return total[0] / (256 * 256)


def export(model, out):
    model.eval()
    enc = MuOnly(model.encoder)
    x = torch.rand(1, model.encoder.body[0].in_channels, 64, 96)
    image_axes = {0: "batch", 2: "height", 3: "width"}
    latent_axes = {0: "batch", 2: "latent_height", 3: "latent_width"}
    torch.onnx.export(enc, x, os.path.join(out, "encoder.onnx"), input_names=["image"], output_names=["mu"],
                      dynamic_axes={"image": image_axes, "mu": latent_axes}, opset_version=17, dynamo=False)
    z = torch.randn(1, model.decoder.latent, 4, 6)
    torch.onnx.export(model.decoder, z, os.path.join(out, "decoder.onnx"), input_names=["latent"],
                      output_names=["image"], dynamic_axes={"latent": latent_axes, "image": image_axes},
                      opset_version=17, dynamo=False)


class MuOnly(nn.Module):
    """The exported encoder: coding uses the posterior mean only."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x):
        return self.encoder.mu(self.encoder.body(x - 0.5))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(ap, "folder made by shared/data/gather-images.sh")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=160)
    ap.add_argument("--lmbda", type=float, default=0.004, help="distortion weight on 255^2 * MSE")
    ap.add_argument("--beta", type=float, default=0.01, help="weight of the Gaussian KL term")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", help="torch device to train on (cpu, cuda)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--export-only", action="store_true", help="skip training: export --out/checkpoint.pt")
    args = ap.parse_args()
    if args.export_only:
        model = Codec()
        model.load_state_dict(torch.load(os.path.join(args.out, "checkpoint.pt"), map_location="cpu"))
        finish(model, args, time.time())
        return

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    torch.set_num_threads(args.threads)
    photos = load_photos(os.path.join(args.data, "train"), 1024)
    photos += load_photos(os.path.join(args.data, "train"), 512)
    print(f"{len(photos)} training views", flush=True)

    model = Codec().to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.05,
                                                final_div_factor=20)
    t0 = time.time()
    for step in range(1, args.steps + 1):
        x = random_crops(photos, args.batch, args.crop, rng, args.device)
        x_hat, bits, gauss_kl = model(x)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        mse = F.mse_loss(x_hat, x)
        loss = args.lmbda * 255 ** 2 * mse + (bits + args.beta * gauss_kl) / pixels
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == 1:
            print(f"step {step} loss {loss.item():.4f} psnr {10 * math.log10(1 / mse.item()):.2f} "
                  f"bpp {(bits / pixels).item():.3f} gauss-kl {(gauss_kl / pixels).item():.3f} "
                  f"{time.time() - t0:.0f}s", flush=True)

    model.cpu()
    torch.save(model.state_dict(), os.path.join(args.out, "checkpoint.pt"))
    finish(model, args, t0)


def finish(model, args, t0):
    """Export the bundle and measure validation rate-distortion."""
    model.eval()
    tables = model.prior.cdf_tables()
    export(model, args.out)
    prior = {"name": "codec-v1", "latent_channels": LATENT, "stride": STRIDE, "cdf_precision": CDF_PRECISION,
             "channels": tables}
    with open(os.path.join(args.out, "prior.json"), "w") as f:
        json.dump(prior, f, separators=(",", ":"))
    rows = evaluate(model, tables, os.path.join(args.data, "val", "*"))
    macs = {"encoder": macs_per_pixel(MuOnly(model.encoder), torch.rand(1, 3, 256, 256)),
            "decoder": macs_per_pixel(model.decoder, torch.rand(1, LATENT, 16, 16))}
    params = {"encoder_mu": sum(p.numel() for n, p in model.encoder.named_parameters() if "log_sigma" not in n),
              "decoder": sum(p.numel() for p in model.decoder.parameters())}
    train = vars(args) | {"data": portable(args.data), "out": portable(args.out),
                          "seconds": round(time.time() - t0), "torch": torch.__version__}
    metrics_path = os.path.join(args.out, "metrics.json")
    if args.export_only and os.path.exists(metrics_path):
        with open(metrics_path) as f:
            train = json.load(f)["train"]  # keep the record of the run that trained it
    summary = {"train": train,
               "macs_per_pixel": macs, "parameters": params,
               "val_mean_bpp": float(np.mean([r["bpp"] for r in rows])),
               "val_mean_psnr": float(np.mean([r["psnr"] for r in rows])),
               "val_mean_jpeg_psnr_same_bpp": float(np.mean([r["jpeg_psnr_same_bpp"] for r in rows
                                                             if r["jpeg_psnr_same_bpp"] is not None])),
               "val": rows}
    with open(metrics_path, "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "val"}))


if __name__ == "__main__":
    main()
