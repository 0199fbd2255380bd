#!/usr/bin/env python3
"""Recipe for the blind denoising VAE `denoise-v1` (RGB and gray, sensor noise up to sigma = 50/255).

Architecture (about 8.6 kMAC per pixel): the noisy image is rearranged space-to-depth (2x2 -> 12 channels at
half resolution, no information lost). The encoder is three 3x3 convs 12->32->32 with a mu head and a log sigma
head (16 channels each) at half resolution. The decoder is three 3x3 convs 16->32->32->12, then depth-to-space
back to full resolution. Its output is the noise estimate, subtracted from the input (a residual skip), so
output = noisy - decoder(z). Training uses z = mu + sigma * eps and minimises
    255^2 * MSE(clean, output) + beta * KL(N(mu, sigma^2) || N(0, 1)),
where beta is small: the latent must carry detail. The runtime runs one graph, denoiser.onnx:
noisy image [N,3,H,W] in [0, 1] (H, W even) -> noisy - decoder(mu), the posterior mean path.

Noise model, per training crop: a signal-dependent Poisson-Gaussian part, y = x + sqrt(a * x) * n1 with
a in [0, 0.02], plus a Gaussian part with sigma uniform in [0, 50/255]. Then clipping to [0, 1] and 8-bit
rounding, as a camera pipeline would. A fifth of the crops are gray (replicated to 3 channels). The model is
blind: no noise level is given.

Data: `bash ../shared/data/gather-images.sh DATA`; trains on DATA/train (145 photos), evaluates on DATA/val.
    python3 models/denoise/train.py --data DATA [--seconds 4200]     # 2 CPU cores: ~51k steps
    python3 models/denoise/train.py --data DATA --export-only         # evaluate + export checkpoint.pt
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import add_data_arg, load_photos  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTH = 32
LATENT = 16
MAX_SIGMA = 50 / 255
MAX_POISSON = 0.02


def conv(cin, cout):
    return nn.Conv2d(cin, cout, 3, padding=1)


class Encoder(nn.Module):
    """noisy image [N,3,H,W] (H, W even) -> mu, log sigma [N,16,H/2,W/2]."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(conv(12, WIDTH), nn.ReLU(), conv(WIDTH, WIDTH), nn.ReLU())
        self.mu = conv(WIDTH, LATENT)
        self.logsigma = conv(WIDTH, LATENT)
        # Start with a small posterior spread, so that early sampling noise does not drown z.
        nn.init.constant_(self.logsigma.bias, -4.0)

    def forward(self, x):
        h = self.body(F.pixel_unshuffle(x, 2))
        return self.mu(h), self.logsigma(h).clamp(-8, 2)


class Decoder(nn.Module):
    """(z [N,16,H/2,W/2], noisy image) -> denoised image: the noisy image minus the decoded noise."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(conv(LATENT, WIDTH), nn.ReLU(), conv(WIDTH, WIDTH), nn.ReLU(), conv(WIDTH, 12))

    def forward(self, z, noisy):
        return noisy - F.pixel_shuffle(self.body(z), 2)


class Denoiser(nn.Module):
    """The exported graph: noisy -> noisy - decoder(mu(noisy))."""

    def __init__(self, enc, dec):
        super().__init__()
        self.enc = enc
        self.dec = dec

    def forward(self, x):
        return self.dec(self.enc(x)[0], x)


def add_noise(clean, gen):
    """Poisson-Gaussian sensor noise, clipped and rounded to 8 bits; per-crop strengths."""
    n = clean.shape[0]
    dev = clean.device
    a = torch.rand(n, 1, 1, 1, device=dev, generator=gen) * MAX_POISSON
    a = a * (torch.rand(n, 1, 1, 1, device=dev, generator=gen) < 0.5)
    sigma = torch.rand(n, 1, 1, 1, device=dev, generator=gen) * MAX_SIGMA
    std = (a * clean + sigma ** 2).sqrt()
    noisy = clean + std * torch.randn(clean.shape, device=dev, generator=gen)
    return (noisy.clamp(0, 1) * 255).round() / 255


def batches(photos, batch, crop, device, gen, gray_share=0.2):
    """Endless random crops (flips, rotations, `gray_share` of them gray) from photos held on the
    device."""
    tensors = [torch.from_numpy(p.copy()).to(device).permute(2, 0, 1) for p in photos
               if min(p.shape[:2]) >= crop]
    while True:
        out = []
        idx = torch.randint(len(tensors), (batch,), generator=gen, device="cpu")
        for i in idx.tolist():
            t = tensors[i]
            y = torch.randint(t.shape[1] - crop + 1, (1,), generator=gen, device="cpu").item()
            x = torch.randint(t.shape[2] - crop + 1, (1,), generator=gen, device="cpu").item()
            c = t[:, y:y + crop, x:x + crop]
            k = torch.randint(8, (1,), generator=gen, device="cpu").item()
            c = torch.rot90(c, k % 4, (1, 2))
            if k >= 4:
                c = c.flip(2)
            out.append(c)
        b = torch.stack(out).float() / 255
        gray = (torch.rand(batch, device="cpu", generator=gen) < gray_share).to(device)
        luma = (0.299 * b[:, 0] + 0.587 * b[:, 1] + 0.114 * b[:, 2]).unsqueeze(1).expand_as(b)
        yield torch.where(gray.view(-1, 1, 1, 1), luma, b)


def train(args, out):
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    photos = load_photos(os.path.join(args.data, "train"))
    enc, dec = Encoder().to(device), Decoder().to(device)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    gen = torch.Generator(device="cpu").manual_seed(args.seed)
    noise_gen = torch.Generator(device=device).manual_seed(args.seed)
    data = batches(photos, args.batch, args.crop, device, gen)
    t0 = time.time()
    step = 0
    log = []
    while time.time() - t0 < args.seconds:
        frac = (time.time() - t0) / args.seconds
        for g in opt.param_groups:  # cosine decay over the time budget
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        clean = next(data)
        noisy = add_noise(clean, noise_gen)
        mu, logsigma = enc(noisy)
        z = mu + torch.randn_like(mu) * logsigma.exp()
        mse = F.mse_loss(dec(z, noisy), clean)
        kl = (0.5 * (mu ** 2 + (2 * logsigma).exp() - 1) - logsigma).mean()
        loss = 255 ** 2 * mse + args.beta * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 500 == 0:
            psnr = 10 * math.log10(1 / mse.item())
            log.append([step, round(time.time() - t0), round(psnr, 2), round(kl.item(), 3)])
            print(f"step {step}: train PSNR {psnr:.2f} dB, KL {kl.item():.3f}, {time.time() - t0:.0f}s", flush=True)
    record = {"steps": step, "seconds": round(time.time() - t0, 1), "batch": args.batch, "crop": args.crop,
              "lr": args.lr, "beta": args.beta, "seed": args.seed, "torch": str(torch.__version__),
              "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "log": log}
    torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict(), "record": record},
               os.path.join(out, "checkpoint.pt"))


def macs_per_pixel():
    enc_layers = [(12, WIDTH), (WIDTH, WIDTH), (WIDTH, LATENT)]
    dec_layers = [(LATENT, WIDTH), (WIDTH, WIDTH), (WIDTH, 12)]
    per_half_res = lambda layers: sum(a * b * 9 for a, b in layers) / 4  # noqa: E731
    return per_half_res(enc_layers), per_half_res(dec_layers)


@torch.no_grad()
def evaluate(enc, dec, photos, sigma, seed=0):
    """Mean PSNR on photos with plain Gaussian noise of `sigma` (8-bit, clipped)."""
    gen = torch.Generator().manual_seed(seed)
    psnrs = []
    for p in photos:
        h, w = p.shape[0] // 2 * 2, p.shape[1] // 2 * 2
        clean = torch.from_numpy(p[:h, :w].copy()).permute(2, 0, 1)[None].float() / 255
        noisy = ((clean + sigma / 255 * torch.randn(clean.shape, generator=gen)).clamp(0, 1) * 255).round() / 255
        out = dec(enc(noisy)[0], noisy).clamp(0, 1)
        out = (out * 255).round() / 255
        psnrs.append(10 * math.log10(1 / F.mse_loss(out, clean).item()))
    return sum(psnrs) / len(psnrs)


def export(args, out):
    ckpt = torch.load(os.path.join(out, "checkpoint.pt"), map_location="cpu", weights_only=False)
    enc, dec = Encoder(), Decoder()
    enc.load_state_dict(ckpt["encoder"])
    dec.load_state_dict(ckpt["decoder"])
    enc.eval()
    dec.eval()
    val = load_photos(os.path.join(args.data, "val"), max_side=100000)
    metrics = {"val_psnr_gaussian": {str(s): round(evaluate(enc, dec, val, s), 3) for s in (15, 25, 50)},
               "macs_per_pixel": dict(zip(("encoder", "decoder"), macs_per_pixel())),
               "params": {"encoder_mu": sum(p.numel() for n, p in enc.named_parameters() if "logsigma" not in n),
                          "decoder": sum(p.numel() for p in dec.parameters())},
               "train": ckpt["record"]}
    x = torch.rand(1, 3, 64, 96)
    axes = {0: "n", 2: "h", 3: "w"}
    torch.onnx.export(Denoiser(enc, dec), x, os.path.join(out, "denoiser.onnx"), input_names=["image"],
                      output_names=["denoised"], dynamic_axes={"image": axes, "denoised": axes},
                      opset_version=17, dynamo=False)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(json.dumps({k: v for k, v in metrics.items() if k != "train"}, indent=1))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(p)
    p.add_argument("--out", default=HERE)
    p.add_argument("--seconds", type=float, default=4200, help="training time budget (wall clock)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--beta", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--export-only", action="store_true")
    p.add_argument("--train-only", action="store_true", help="skip evaluation and export (no DATA/val needed)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not args.export_only:
        train(args, args.out)
    if not args.train_only:
        export(args, args.out)


if __name__ == "__main__":
    main()
