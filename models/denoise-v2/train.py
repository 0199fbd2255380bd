#!/usr/bin/env python3
"""Recipe for `denoise-v2`, the quality denoiser (issue 29): a blind residual U-Net for photos and
still frames, RGB and gray, trained in resumable, time-budgeted stages.

Architecture (--width W, default 32; about 50 kMAC per pixel at W = 32, 4.5x more at W = 64):
the noisy image [N,3,H,W] is rearranged space-to-depth (2x2 -> 12 channels at H/2, lossless), then

    H/2:  3x3 conv 12->W, ReLU, 2 residual blocks (two 3x3 convs W->W each)   --skip-->  +, 2 blocks, 3x3 conv W->12
    H/4:  2x2 stride-2 conv W->2W, 2 blocks                                    --skip-->  +, 2 blocks, 2x2 transposed conv 2W->W
    H/8:  2x2 stride-2 conv 2W->4W, 2 blocks, 2x2 transposed conv 4W->2W

(--top-blocks sets the blocks on each side of the H/2 level: 2 by default, 0 leaves that level its
two convolutions), and depth-to-space back to H x W: the noise estimate, subtracted from the input
(output = noisy - net(noisy)). ReLU and plain convolutions only, no normalisation: every op runs on
tract's conv kernels. H and W must be multiples of 16 (model.json: "multiple"; the runtime pads tiles).

Noise and data as denoise-v1 (models/denoise/train.py): per crop Poisson-Gaussian sensor noise,
a ~ U(0, 0.02) on half the crops, plus Gaussian sigma ~ U(0, 50/255), clipped and rounded to 8
bits; random crops of the 145 training photos (at most 1024 px) with flips and rotations; a third
of the crops gray (replicated to 3 channels). Loss: 255^2 * MSE. Blind: no noise level is given.

Stages: each runs --time-budget seconds (lr: 2 % warm-up, then cosine to 5 % of --lr), saves the
weights-only checkpoint (checkpoint.pt, overwritten) every --save-every seconds and at its end,
then measures the 13 validation photos (Gaussian sigma 15 / 25 / 50, colour and gray, fixed seed,
PSNR after 8-bit rounding), appends the stage to metrics.json and prints its training-log row.
--resume starts from checkpoint.pt; --export-only writes denoiser.onnx and model.json. --qat (with
--resume, into a folder of its own) is the quantization-aware stage that the int8 graph comes from
(models/quantize.py --denoiser): every conv but the first and last computes on the int8 graph's
grids while it trains.

    python3 models/denoise-v2/train.py --data DATA --time-budget 6600            # stage 1
    python3 models/denoise-v2/train.py --data DATA --time-budget 6600 --resume   # later stages
    python3 models/denoise-v2/train.py --data DATA --export-only
"""

import argparse
import importlib.util
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # models/: common.py
from common import add_data_arg, load_photos, psnr  # noqa: E402

# denoise-v1's noise model and crop sampler, shared rather than copied.
_spec = importlib.util.spec_from_file_location("denoise_v1", os.path.join(os.path.dirname(HERE), "denoise", "train.py"))
v1 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(v1)

MULTIPLE = 16
GRAY_SHARE = 1 / 3
SIGMAS = (15, 25, 50)


def conv(cin, cout, k=3, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2 if stride == 1 else 0)


class Block(nn.Module):
    """x + conv(relu(conv(x))), then ReLU."""

    def __init__(self, c):
        super().__init__()
        self.a, self.b = conv(c, c), conv(c, c)

    def forward(self, x):
        return F.relu(x + self.b(F.relu(self.a(x))))


def blocks(c, n=2):
    return nn.Sequential(*[Block(c) for _ in range(n)])


class UNet(nn.Module):
    """noisy [N,3,H,W] (H, W multiples of 16) -> noisy - estimated noise."""

    def __init__(self, width=32, top_blocks=2):
        w = width
        super().__init__()
        self.head = nn.Sequential(conv(12, w), nn.ReLU(), blocks(w, top_blocks))
        self.down1 = nn.Sequential(conv(w, 2 * w, 2, 2), nn.ReLU(), blocks(2 * w))
        self.down2 = nn.Sequential(conv(2 * w, 4 * w, 2, 2), nn.ReLU(), blocks(4 * w))
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, 2)
        self.mid = blocks(2 * w)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 2, 2)
        self.tail = nn.Sequential(blocks(w, top_blocks), conv(w, 12))
        self.width = width

    def forward(self, noisy):
        h1 = self.head(F.pixel_unshuffle(noisy, 2))
        h2 = self.down1(h1)
        h3 = self.down2(h2)
        h2 = self.mid(h2 + self.up2(h3))
        noise = self.tail(h1 + self.up1(h2))
        return noisy - F.pixel_shuffle(noise, 2)


class FakeQuantConv(nn.Conv2d):
    """A Conv2d that computes as its QLinearConv in the int8 graph (models/quantize.py --denoiser):
    weights on an int8 grid per output channel; input and output on a uint8 grid per tensor over
    [lo, hi], the running extremes, with lo = 0 for a tensor never negative and for an output that
    feeds a ReLU (which the int8 graph folds into the output's range). Straight-through gradients;
    the ranges are not part of the state (the int8 graph calibrates its own)."""

    def __init__(self, conv, relu):
        super().__init__(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding)
        self.load_state_dict(conv.state_dict())
        self.relu = relu
        # per tensor (input, output): running min, running max
        self.register_buffer("ranges", torch.full((2, 2), float("nan")), persistent=False)

    def fake_quantize(self, x, i):
        if self.training:
            with torch.no_grad():
                seen = torch.stack([x.min(), x.max()])
                r = self.ranges[i]
                r.copy_(torch.where(r.isnan(), seen, 0.99 * r + 0.01 * seen))
        lo, hi = self.ranges[i].tolist()
        lo = 0.0 if (i == 1 and self.relu) or lo >= 0 else lo
        scale = max(hi - lo, 1e-6) / 255
        return torch.fake_quantize_per_tensor_affine(x, scale, min(max(round(-lo / scale), 0), 255), 0, 255)

    def forward(self, x):
        scale = self.weight.detach().abs().amax(dim=(1, 2, 3)).clamp_min(1e-12) / 127
        zero = torch.zeros(scale.shape, dtype=torch.int32)
        w = torch.fake_quantize_per_channel_affine(self.weight, scale, zero, 0, -127, 127)
        return self.fake_quantize(F.conv2d(self.fake_quantize(x, 0), w, self.bias, self.stride, self.padding), 1)


def quantization_aware(net):
    """`net` with every Conv2d but the first and last (f32 in the int8 graph) computing on the
    int8 graph's grids: quantization-aware training."""
    f32 = (net.head[0], net.tail[-1])
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv2d) and not any(child is c for c in f32):
                siblings = [n for n, _ in parent.named_children()]
                after = siblings.index(name) + 1
                relu = (isinstance(parent, Block) and name == "a") or (
                    after < len(siblings) and isinstance(getattr(parent, siblings[after]), nn.ReLU))
                setattr(parent, name, FakeQuantConv(child, relu))
    return net


def macs_per_pixel(net):
    """Multiply-accumulates per image pixel, counted with forward hooks on a 64x64 input."""
    total = [0]

    def hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1]
        if isinstance(m, nn.ConvTranspose2d):  # each input value meets k weights per output channel
            total[0] += inp[0].numel() * m.out_channels * k
        else:
            total[0] += out.numel() * m.in_channels * k

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        net(torch.zeros(1, 3, 64, 64))
    for h in handles:
        h.remove()
    return total[0] / (64 * 64)


def receptive_radius(net):
    """Pixels an output pixel depends on, on each side: the support of the gradient of the centre
    pixel, measured on a random 256x256 input (the tile overlap the runtime needs)."""
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0)).requires_grad_()
    net(x)[0, :, 128, 128].sum().backward()
    cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 2)))
    return int(max(128 - cols.min().item(), cols.max().item() - 128))


def lr_at(frac, lr):
    """2 % linear warm-up, then cosine decay to 5 % of `lr`."""
    if frac < 0.02:
        return lr * frac / 0.02
    t = (frac - 0.02) / 0.98
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def add_noise(clean, gen):
    """denoise-v1's sensor noise, except that a gray crop (three equal channels) gets one noise
    field in all three, as a gray picture replicated into the graph's channels has."""
    noisy = v1.add_noise(clean, gen)
    gray = ((clean[:, 0] == clean[:, 1]) & (clean[:, 1] == clean[:, 2])).flatten(1).all(dim=1)
    return torch.where(gray.view(-1, 1, 1, 1), noisy[:, :1].expand_as(noisy), noisy)


def save(net, path):
    """Weights only, written beside and renamed: a stage killed mid-write keeps the last one."""
    torch.save(net.state_dict(), path + ".tmp")
    os.replace(path + ".tmp", path)


def train(args, net, ckpt):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    photos = load_photos(os.path.join(args.data, "train"))
    net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    gen = torch.Generator(device="cpu").manual_seed(args.seed)
    noise_gen = torch.Generator(device=device).manual_seed(args.seed)
    data = v1.batches(photos, args.batch, args.crop, device, gen, gray_share=GRAY_SHARE)
    t0 = last_save = time.time()
    step, window = 0, []
    while (done := (time.time() - t0) / args.time_budget) < 1.0:
        for g in opt.param_groups:
            g["lr"] = lr_at(done, args.lr)
        clean = next(data)
        mse = F.mse_loss(net(add_noise(clean, noise_gen)), clean)
        opt.zero_grad(set_to_none=True)
        (255 ** 2 * mse).backward()
        opt.step()
        step += 1
        window.append(mse.item())
        if step % 200 == 0:
            print(f"step {step} {time.time() - t0:.0f}s train PSNR {10 * math.log10(1 / np.mean(window)):.2f} dB",
                  flush=True)
            window.clear()
        if time.time() - last_save > args.save_every:
            save(net, ckpt)
            last_save = time.time()
    net.cpu()
    save(net, ckpt)
    return step, round(time.time() - t0)


@torch.no_grad()
def evaluate(net, photos, sigma, gray, seed=0):
    """Mean PSNR over `photos` (cropped to multiples of 16) with Gaussian noise of `sigma` (8-bit,
    clipped); gray: the luma, replicated in, the mean of the three out, PSNR on the gray values."""
    net.eval()
    gen = torch.Generator().manual_seed(seed)
    values = []
    for p in photos:
        h, w = p.shape[0] // MULTIPLE * MULTIPLE, p.shape[1] // MULTIPLE * MULTIPLE
        clean = torch.from_numpy(p[:h, :w].copy()).permute(2, 0, 1)[None].float() / 255
        if gray:
            clean = (0.299 * clean[:, 0:1] + 0.587 * clean[:, 1:2] + 0.114 * clean[:, 2:3])
            clean = (clean * 255).round() / 255
        noisy = ((clean + sigma / 255 * torch.randn(clean.shape, generator=gen)).clamp(0, 1) * 255).round() / 255
        out = net(noisy.expand(-1, 3, -1, -1))
        if gray:
            out = out.mean(dim=1, keepdim=True)
        out = (out.clamp(0, 1) * 255).round()
        values.append(psnr(out[0].numpy(), (clean[0] * 255).round().numpy()))
    return float(np.mean(values))


def measure(net, data):
    val = load_photos(os.path.join(data, "val"), max_side=100000)
    return {f"{'gray' if gray else 'colour'} {s}": round(evaluate(net, val, s, gray), 3)
            for gray in (False, True) for s in SIGMAS}


def export(net, out, name, overlap=None):
    net.eval()
    x = torch.rand(1, 3, 64, 96)
    axes = {0: "n", 2: "h", 3: "w"}
    torch.onnx.export(net, x, os.path.join(out, "denoiser.onnx"), input_names=["image"],
                      output_names=["denoised"], dynamic_axes={"image": axes, "denoised": axes},
                      opset_version=17, dynamo=False)
    radius = receptive_radius(net)
    if overlap is None:
        overlap = math.ceil(radius / MULTIPLE) * MULTIPLE
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump({"name": name, "overlap": overlap, "multiple": MULTIPLE}, f)
    return radius


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(p)
    p.add_argument("--out", default=HERE)
    p.add_argument("--time-budget", type=float, default=6600, help="seconds of training in this stage")
    p.add_argument("--save-every", type=float, default=600, help="seconds between checkpoints")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--top-blocks", type=int, default=2, help="residual blocks on each side of the H/2 level")
    p.add_argument("--name", default="denoise-v2", help="the model's name in model.json")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--resume", action="store_true", help="start from OUT/checkpoint.pt")
    p.add_argument("--overlap", type=int, help="context per tile side in model.json (default: the receptive "
                   "radius rounded up to 16; a smaller one where tiles measure within 1 level of the whole)")
    p.add_argument("--export-only", action="store_true")
    p.add_argument("--qat", action="store_true", help="quantization-aware stage (with --resume): the convs that "
                   "the int8 graph computes in int8 train on its grids; the f32 weights are saved as usual")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "checkpoint.pt")
    net = UNet(args.width, args.top_blocks)
    if args.resume or args.export_only:
        net.load_state_dict(torch.load(ckpt, map_location="cpu"))
    if args.export_only:
        print(f"receptive radius {export(net, args.out, args.name, args.overlap)} px")
        return
    steps, seconds = train(args, quantization_aware(net) if args.qat else net, ckpt)
    if args.qat:
        net = UNet(args.width, args.top_blocks)
        net.load_state_dict(torch.load(ckpt, map_location="cpu"))
    record_path = os.path.join(args.out, "metrics.json")
    record = {"stages": []}
    if args.resume and os.path.exists(record_path):
        with open(record_path) as f:
            record = json.load(f)
    val = measure(net, args.data)
    stage = {"stage": len(record["stages"]) + 1, "steps": steps, "seconds": seconds, "width": args.width,
             "top_blocks": args.top_blocks, "qat": args.qat,
             "batch": args.batch, "crop": args.crop, "lr": args.lr, "seed": args.seed,
             "torch": str(torch.__version__), "val": val}
    record["stages"].append(stage)
    record["macs_per_pixel"] = round(macs_per_pixel(net))
    record["params"] = sum(t.numel() for t in net.parameters())
    with open(record_path, "w") as f:
        json.dump(record, f, indent=1)
    radius = export(net, args.out, args.name, args.overlap)
    cells = " | ".join(f"{val[f'colour {s}']:.2f} / {val[f'gray {s}']:.2f}" for s in SIGMAS)
    print(f"| stage {stage['stage']} | {steps:,} | {seconds:,} | {cells} |   (receptive radius {radius} px)")


if __name__ == "__main__":
    main()
