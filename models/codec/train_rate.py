#!/usr/bin/env python3
"""Stage 2 of the codec recipe: turn the single-rate codec (train.py) into a variable-rate one.

Eight quality levels share one encoder and one decoder. Quality q has a learned per-channel gain g_q and
inverse gain h_q (the "gain units" of Cui et al. 2021) and its own factorized prior:

* coding: y = round(mu * g_q) (integers, entropy coded with quality q's CDF tables), decoder input y * h_q;
* training (VAE, as in train.py): z = mu * g_q + u + sigma * eps, decoder(z * h_q), loss
  lambda_q * 255^2 * MSE + rate_q + beta * KL, with q drawn per batch and lambda_q spaced geometrically.

The gains are applied by the runtime in Rust (one f32 multiply per latent on each side), so the ONNX
graphs keep their shape, and the symbols stay integers: decoding is bit-exact across CPUs.

Outputs in --out: encoder.onnx, decoder.onnx, prior.factorized.json (per quality: lambda, gains, the
learned factorized CDF tables), checkpoint_rate.pt, metrics_rate.json (validation rate-distortion per
quality, coded with the factorized tables). context_tables.py then writes the prior.json the runtime
codes with (seven tables per channel, picked by the neighbours).

Longer runs continue from checkpoint_rate.pt (--resume) at its lambdas. When --lambda-lo/--lambda-hi differ from the
checkpoint's, its levels are re-levelled: gains interpolated in log-lambda. --revive first re-initialises
the latent channels the VAE has collapsed to the prior (no signal, ignored by the decoder), which no
amount of further training brings back, and fits the priors to the new signal.

--time-budget SECONDS trains for a wall-clock budget instead of --steps, the one-cycle learning rate following
the clock: train_on_device.sh runs it so on a lent GPU machine (README.md, "Training on a GPU").

--ste feeds the decoder the rounded latent it gets from a file, round(mu * g), with a straight-through
gradient (plus the posterior noise), while the rate keeps the noisy proxy: mixed quantization.

--encoder-channels / --decoder-channels widen the checkpoint's stages (widen()): the wider model starts out
computing exactly what the narrower one did, and training puts the new channels to use.

--latent / --stride with --transplant CHECKPOINT start a model of another latent layout (codec-v5: 64 channels
at stride 8) from a trained checkpoint's stages (transplant()), its priors first fitted to the fresh latent;
--rate-warmup and --rate-lr-scale help such a fresh latent (models/codec-v5/README.md has the recipe). The widths are
stored in checkpoint_rate.pt. A decoder widened to 128,96,64 and trained 6,500 steps from codec-v4 gained
under 0.1 dB for 1.85x its arithmetic, so codec-v4 kept its widths (README.md, "Where the curve flattens").

Reproduce codec-v4 (see README.md for the seconds each step took):
    python3 train.py --data DATA
    python3 train_rate.py --data DATA --steps 4500 --name codec-v2
    python3 train_rate.py --data DATA --resume --lambda-hi 0.6 --steps 9000 --seed 3 --name codec-v3  # stopped at 1,800
    python3 train_rate.py --data DATA --resume --lambda-hi 0.6 --steps 9000 --seed 4 --revive --name codec-v3
    python3 train_rate.py --data DATA --resume --lambda-hi 0.6 --steps 6000 --lr 3e-4 --seed 5 --ste --threads 1  # stopped at 1,400
    python3 train_rate.py --data DATA --resume --lambda-hi 0.6 --steps 4600 --lr 2.5e-4 --seed 6 --ste
    python3 context_tables.py --data DATA
"""

import argparse
import copy
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

import train
from train import (LATENT, STRIDE, CDF_PRECISION, DECODER_CHANNELS, ENCODER_CHANNELS, GDN, Codec, FactorizedPrior,
                   ideal_bits, random_crops, pad_to_stride, to_rgb8, to_tensor)

BASE_LAMBDA = 0.005


def one_cycle(done, peak, warmup=0.05, start_div=25.0, final_div=20.0):
    """The learning rate at fraction `done` of a run (PyTorch's OneCycleLR, cosine phases): from
    peak / start_div up to peak over the first `warmup` of the run, then down to peak / start_div / final_div."""
    lo, end = peak / start_div, peak / start_div / final_div
    if done < warmup:
        a, b, f = lo, peak, done / warmup
    else:
        a, b, f = peak, end, (done - warmup) / (1.0 - warmup)
    return b + (a - b) * (1.0 + math.cos(math.pi * min(f, 1.0))) / 2.0


def lambdas(lo, hi, n):
    return [lo * (hi / lo) ** (i / (n - 1)) for i in range(n)]


def rescaled_prior(prior, gain):
    """A copy of `prior` for the density of x * gain (per channel): c'(x) = c(x / gain)."""
    p = copy.deepcopy(prior)
    with torch.no_grad():
        m = F.softplus(p.matrices[0]) / gain.reshape(-1, 1, 1)
        p.matrices[0].copy_(torch.log(torch.expm1(m)))
    return p


class VariableRate(nn.Module):
    def __init__(self, base, lmbdas):
        super().__init__()
        self.encoder, self.decoder = base.encoder, base.decoder
        self.latent, self.stride, self.colours = base.latent, base.stride, base.colours
        self.lambdas = list(lmbdas)
        init = 0.5 * torch.log(torch.tensor(lmbdas) / BASE_LAMBDA)
        self.log_gain = nn.Parameter(init[:, None].repeat(1, self.latent))
        self.log_inv_gain = nn.Parameter(-init[:, None].repeat(1, self.latent))
        self.priors = nn.ModuleList([rescaled_prior(base.prior, init[i].exp().repeat(self.latent))
                                     for i in range(len(lmbdas))])
        self.ste = False

    def gains(self, q):
        return self.log_gain[q].exp().reshape(1, -1, 1, 1), self.log_inv_gain[q].exp().reshape(1, -1, 1, 1)

    def forward(self, x, q):
        mu, log_sigma = self.encoder(x)
        g, h = self.gains(q)
        m = mu * g
        y = m + torch.empty_like(mu).uniform_(-0.5, 0.5)
        sigma = log_sigma.exp()
        # With ste the decoder sees the rounded latent it gets when decoding a file (straight-through
        # gradient); the rate keeps the noisy proxy either way.
        z = (m + (torch.round(m) - m).detach() if self.ste else y) + sigma * torch.randn_like(mu)
        x_hat = self.decoder(z * h)
        bits = -torch.log2(self.priors[q].likelihood(y)).sum()
        gauss_kl = ((0.5 * (sigma ** 2 - 1) - log_sigma) / math.log(2)).sum()
        return x_hat, bits, gauss_kl


@torch.no_grad()
def code_image(model, q, tables, rgb):
    """Real rounding + ideal code length under quality q's integer tables."""
    xp, h, w = pad_to_stride(to_tensor(rgb), model.stride)
    mu, _ = model.encoder(xp)
    g, hinv = model.gains(q)
    y = torch.round(mu * g)[0].numpy().astype(np.int64)
    bits = ideal_bits(y, tables)
    x_hat = model.decoder(torch.from_numpy(y)[None].float() * hinv)[..., :h, :w]
    return (bits + 44 * 8) / (h * w), psnr(rgb, to_rgb8(x_hat))


def relevel(model, state, old, channels, layout):
    """Load `state`, trained with quality lambdas `old`, into `model` whose levels have other lambdas.

    Each new level starts from the old gains interpolated in log-lambda (extrapolated past either end by
    the initial rule gain ~ sqrt(lambda)), and from the prior of the nearest old level, rescaled to match."""
    donor = VariableRate(Codec(*channels, *layout), old)
    donor.load_state_dict(state)
    model.encoder.load_state_dict(donor.encoder.state_dict())
    model.decoder.load_state_dict(donor.decoder.state_dict())
    log_old = np.log(old)
    step = (log_old[-1] - log_old[0]) / (len(old) - 1)
    with torch.no_grad():
        for q, lam in enumerate(model.lambdas):
            t = min(max((math.log(lam) - log_old[0]) / step, 0.0), len(old) - 1.0)
            i = min(int(t), len(old) - 2)
            f = t - i
            shift = 0.5 * (math.log(lam) - log_old[round(t)]) if t in (0.0, len(old) - 1.0) else 0.0
            g = (1 - f) * donor.log_gain[i] + f * donor.log_gain[i + 1] + shift
            h = (1 - f) * donor.log_inv_gain[i] + f * donor.log_inv_gain[i + 1] - shift
            model.log_gain[q].copy_(g)
            model.log_inv_gain[q].copy_(h)
            near = round(t)
            model.priors[q] = rescaled_prior(donor.priors[near], (g - donor.log_gain[near]).exp())


@torch.no_grad()
def revive_collapsed(model, photos, rng, threshold=0.05):
    """Give fresh weights to latent channels the VAE has switched off, and return their indices.

    A channel has collapsed to the prior when its mean is nearly constant over training crops (std of mu
    below `threshold`): the encoder puts no signal in it and the decoder ignores it, so no gradient can
    bring it back, and the model cannot spend more bits at high quality. Its encoder rows (mu and
    log sigma, sigma starting near 0.05), its decoder input weights (a tenth of a fresh layer's), its gains
    (the levels' median) and its priors (a fresh density about three times as wide as the new signal) are
    re-initialised."""
    crops = random_crops(photos, 16, 192, rng)
    mu, _ = model.encoder(crops)
    dead = torch.nonzero(mu.std(dim=(0, 2, 3)) < threshold).flatten()
    if len(dead) == 0:
        return dead
    enc, first = model.encoder, model.decoder.body[0]
    fresh_mu = nn.Conv2d(enc.mu.in_channels, model.latent, enc.mu.kernel_size, enc.mu.stride, 2)
    fresh_dec = nn.Conv2d(model.latent, first.out_channels, first.kernel_size, 1, 1)
    enc.mu.weight[dead] = fresh_mu.weight[dead]
    enc.mu.bias[dead] = 0.0
    enc.log_sigma.weight[dead] = 0.0
    enc.log_sigma.bias[dead] = -3.0
    first.weight[:, dead] = 0.1 * fresh_dec.weight[:, dead]
    alive = torch.ones(model.latent, dtype=torch.bool)
    alive[dead] = False
    mu = model.encoder(crops)[0]
    spread = mu[:, dead].std().item()
    for q in range(len(model.lambdas)):
        log_gain = model.log_gain[q, alive].median()
        model.log_gain[q, dead] = log_gain
        model.log_inv_gain[q, dead] = model.log_inv_gain[q, alive].median()
        fresh = FactorizedPrior(model.latent, init_scale=max(1.0, 3 * spread * log_gain.exp().item()))
        for mine, new in zip(model.priors[q].parameters(), fresh.parameters()):
            mine[dead] = new[dead]
    fit_priors(model, mu)
    return dead


def fit_priors(model, mu, steps=300, lr=1e-2):
    """Fit every level's prior to the noisy latents mu * g_q + u of a batch (the encoder held fixed), so
    that re-initialised channels do not start training with the cost of a density that fits nothing."""
    mu = mu.detach()
    for q, prior in enumerate(model.priors):
        g, _ = model.gains(q)
        y = (mu * g).detach()
        opt = torch.optim.Adam(prior.parameters(), lr=lr)
        for _ in range(steps):
            with torch.enable_grad():
                bits = -torch.log2(prior.likelihood(y + torch.empty_like(y).uniform_(-0.5, 0.5))).mean()
                opt.zero_grad()
                bits.backward()
            opt.step()


@torch.no_grad()
def widen(model, encoder_channels, decoder_channels):
    """Give `model` wider encoder/decoder stages without changing what it computes (Net2Net-style).

    Each convolution keeps its trained weights in the top-left corner of the wider one; the weights from
    new input channels into old outputs are zero, so old activations are unchanged, while new outputs
    start from a fresh layer's random weights (their outgoing weights are zero, so they are invisible
    until training grows them). A (inverse) GDN keeps its gamma and beta, and the old channels'
    normalization ignores the new ones. With depth-to-space the old channels are the first 4 * c
    outputs of a convolution, so the same prefix rule holds there."""
    wide = Codec(encoder_channels, decoder_channels, model.latent, model.stride, model.colours)
    for old_part, new_part in ((model.encoder, wide.encoder), (model.decoder, wide.decoder)):
        for old, new in zip(old_part.modules(), new_part.modules()):
            if isinstance(old, nn.Conv2d):
                o, i = old.out_channels, old.in_channels
                new.weight[:o, :i] = old.weight
                new.weight[:o, i:] = 0.0
                new.bias[:o] = old.bias
            elif isinstance(old, GDN):
                c = old.beta.numel()
                new.gamma[:c, :c] = old.gamma
                new.gamma[:c, c:] = 0.0
                new.beta[:c] = old.beta
    model.encoder, model.decoder = wide.encoder, wide.decoder


def channels(model):
    """The stage widths of `model`'s encoder and decoder, as Codec() takes them."""
    return tuple(tuple(m.beta.numel() for m in part.modules() if isinstance(m, GDN))
                 for part in (model.encoder, model.decoder))


def save(model, lmbdas, path):
    """A checkpoint that load_checkpoint reads: the state dict with the lambdas, widths and latent layout it was
    trained with (written beside, then renamed: a run stopped mid-write keeps the previous checkpoint)."""
    torch.save({"state": model.state_dict(), "lambdas": lmbdas, "channels": channels(model),
                "layout": (model.latent, model.stride, model.colours)}, path + ".tmp")
    os.replace(path + ".tmp", path)


def load_checkpoint(path):
    """(state dict, the lambdas it was trained with, (encoder widths, decoder widths), (latent channels,
    stride)); older checkpoints hold no layout (codec-v4's, 128 at 16) nor widths (the default ones), the
    oldest the bare state dict, with their lambdas in the metrics_rate.json beside them."""
    ckpt = torch.load(path, map_location="cpu")
    default = (ENCODER_CHANNELS, DECODER_CHANNELS)
    if "lambdas" in ckpt:
        return (ckpt["state"], ckpt["lambdas"], tuple(map(tuple, ckpt.get("channels", default))),
                tuple(ckpt.get("layout", (LATENT, STRIDE))))
    with open(os.path.join(os.path.dirname(path), "metrics_rate.json")) as f:
        return ckpt, json.load(f)["train"]["lambdas"], default, (LATENT, STRIDE)


@torch.no_grad()
def transplant(model, path):
    """Start `model`, a latent of another layout, from the stages of the checkpoint at `path` (same widths):
    the encoder's body and the decoder after its first convolution keep what they learned; the latent's own
    layers (the mu and log sigma heads, the decoder's first convolution), the gains and the priors start
    fresh."""
    state, lmb, trained, layout = load_checkpoint(path)
    if trained != channels(model):
        raise SystemExit(f"{path} has stage widths {trained}, this model {channels(model)}")
    donor = VariableRate(Codec(*trained, *layout), lmb)
    donor.load_state_dict(state)
    model.encoder.body.load_state_dict(donor.encoder.body.state_dict())
    kept = {k: v for k, v in donor.decoder.state_dict().items() if not k.startswith("body.0.")}
    missing, unexpected = model.decoder.load_state_dict(kept, strict=False)
    assert not unexpected and all(k.startswith("body.0.") for k in missing), (missing, unexpected)


# ITU-R BT.601 luma, as Pillow's convert("L") and the runtime's gray conversion weigh R, G and B.
LUMA = (0.299, 0.587, 0.114)


@torch.no_grad()
def gray_from(model, state, layout):
    """Start `model`, a one-colour (gray) model, from a colour checkpoint's `state` (its layout `layout`; the same
    widths, latent and lambdas as `model`), computing what the colour model computes for a gray picture: the
    encoder's first convolution sums its weights over R, G and B (a gray picture has R = G = B), and the
    decoder's last one outputs the luma of the colour model's R, G and B (its weights and bias per
    depth-to-space position, weighed by LUMA). Everything else, the gains and the priors included, is the
    colour model's."""
    donor = VariableRate(Codec(*channels(model), *layout), model.lambdas)
    donor.load_state_dict(state)
    first, last = "encoder.body.0.", f"decoder.body.{len(model.decoder.body) - 2}."
    kept = {k: v for k, v in donor.state_dict().items() if not k.startswith((first, last))}
    missing, unexpected = model.load_state_dict(kept, strict=False)
    assert not unexpected and all(k.startswith((first, last)) for k in missing), (missing, unexpected)
    conv = donor.encoder.body[0]
    model.encoder.body[0].weight.copy_(conv.weight.sum(dim=1, keepdim=True))
    model.encoder.body[0].bias.copy_(conv.bias)
    conv, luma = donor.decoder.body[-2], torch.tensor(LUMA)
    w, b = conv.weight.reshape(3, 4, *conv.weight.shape[1:]), conv.bias.reshape(3, 4)
    model.decoder.body[-2].weight.copy_(torch.einsum("c,ckixy->kixy", luma, w))
    model.decoder.body[-2].bias.copy_(luma @ b)


def picture(path, gray):
    """A validation picture as an H x W x C uint8 array: RGB, or its luma (Pillow's "L") when `gray`."""
    a = np.asarray(Image.open(path).convert("L" if gray else "RGB"))
    return a[..., None] if gray else a


def widths(text):
    """Three stage widths, "a,b,c", each a positive multiple of 8 (tract's integer kernel tile)."""
    values = tuple(int(v) for v in text.split(","))
    if len(values) != 3 or any(v <= 0 or v % 8 for v in values):
        raise argparse.ArgumentTypeError(f"want three positive multiples of 8, got {text!r}")
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(ap)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--base", default=None, help="stage-1 checkpoint (default: --out/checkpoint.pt)")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--time-budget", type=float, default=0.0, metavar="SECONDS",
                    help="train for this wall-clock budget instead of --steps (the schedule follows the clock)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=192)
    ap.add_argument("--lambda-lo", type=float, default=None,
                    help="lambda of quality 1 (default: the checkpoint's with --resume, else 0.001)")
    ap.add_argument("--lambda-hi", type=float, default=None,
                    help="lambda of the top quality (default: the checkpoint's with --resume, else 0.15)")
    ap.add_argument("--qualities", type=int, default=8)
    ap.add_argument("--beta", type=float, default=0.01)
    ap.add_argument("--rate-lr-scale", type=float, default=1.0, metavar="FACTOR",
                    help="learning rate of the gains and priors against --lr's (a fresh latent's priors and gains "
                         "start far from where they end, in log space)")
    ap.add_argument("--rate-warmup", type=float, default=0.0, metavar="FRACTION",
                    help="ramp the rate terms' weight from 0 to 1 over this fraction of the run (a fresh latent "
                         "learns to carry signal before the rate can switch channels off)")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", help="torch device to train on (cpu, cuda)")
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--resume", action="store_true", help="start from --out/checkpoint_rate.pt (a longer run)")
    ap.add_argument("--latent", type=int, default=LATENT, help="latent channels of a new model (not --resume)")
    ap.add_argument("--stride", type=int, choices=(8, 16), default=STRIDE,
                    help="the latent's stride for a new model (not --resume)")
    ap.add_argument("--transplant", metavar="CHECKPOINT", default=None,
                    help="start a new model (--latent/--stride) from this checkpoint_rate.pt's stages, see transplant()")
    ap.add_argument("--gray-from", metavar="CHECKPOINT", default=None,
                    help="start a new gray (one-channel) model from this colour checkpoint_rate.pt, see gray_from(); "
                         "it trains and validates on gray pictures")
    ap.add_argument("--revive", action="store_true", help="re-initialise collapsed latent channels first")
    ap.add_argument("--encoder-channels", type=widths, default=None,
                    help="widths of the encoder's three stages, e.g. 48,64,96 (default: the checkpoint's, else "
                         f"{','.join(map(str, ENCODER_CHANNELS))}); wider than the checkpoint's: widened, see widen()")
    ap.add_argument("--decoder-channels", type=widths, default=None,
                    help="widths of the decoder's three stages, e.g. 96,64,48 (default: the checkpoint's, else "
                         f"{','.join(map(str, DECODER_CHANNELS))})")
    ap.add_argument("--ste", action="store_true",
                    help="feed the decoder round(mu * g) with a straight-through gradient (mixed quantization)")
    ap.add_argument("--name", default="codec-v4", help="the model's name in prior.factorized.json")
    ap.add_argument("--default-quality", type=int, default=5, help="the quality `compress` uses (~0.5 bpp)")
    ap.add_argument("--val-limit", type=int, default=0, help="evaluate on the first N val photos only")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    torch.set_num_threads(args.threads)
    ckpt = os.path.join(args.out, "checkpoint_rate.pt")
    resumed = args.export_only or args.resume  # then checkpoint_rate.pt holds every weight
    lo, hi = args.lambda_lo or 0.001, args.lambda_hi or 0.15
    if resumed:
        state, old, trained, layout = load_checkpoint(ckpt)
        lo, hi = args.lambda_lo or old[0], args.lambda_hi or old[-1]
    elif args.gray_from:  # at the colour checkpoint's widths, latent and lambdas
        colour_state, old, trained, colour_layout = load_checkpoint(args.gray_from)
        layout = (*colour_layout[:2], 1)
    lmb = list(old) if args.gray_from and not resumed else lambdas(lo, hi, args.qualities)
    if resumed:
        if args.export_only:
            lmb = list(old)  # export what was trained, whatever --lambda-lo/--lambda-hi say
    elif not args.gray_from:
        trained, layout = (ENCODER_CHANNELS, DECODER_CHANNELS), (args.latent, args.stride)
    base = Codec(*trained, *layout)
    if not resumed and not args.transplant and not args.gray_from:
        base.load_state_dict(torch.load(args.base or os.path.join(args.out, "checkpoint.pt"), map_location="cpu"))
    model = VariableRate(base, lmb)
    if not resumed and args.transplant:
        transplant(model, args.transplant)
        print(f"{layout[0]} latent channels at stride {layout[1]}, stages from {args.transplant}", flush=True)
    if not resumed and args.gray_from:
        gray_from(model, colour_state, colour_layout)
        print(f"a gray model from {args.gray_from}", flush=True)
    gray = model.colours == 1
    model.ste = args.ste
    t0, steps_run = time.time(), 0
    if resumed:
        if np.allclose(old, lmb):
            model.load_state_dict(state)
        else:
            print(f"re-levelling from lambdas {old[0]:g}..{old[-1]:g} to {lmb[0]:g}..{lmb[-1]:g}", flush=True)
            relevel(model, state, old, trained, layout)
    wanted = (args.encoder_channels or trained[0], args.decoder_channels or trained[1])
    if wanted != trained:
        if any(n < o for w, t in zip(wanted, trained) for n, o in zip(w, t)):
            raise SystemExit(f"cannot narrow the checkpoint's stages {trained} to {wanted}")
        widen(model, *wanted)
        print(f"widened the encoder/decoder stages from {trained} to {wanted}", flush=True)
    if not args.export_only:
        photos = load_photos(os.path.join(args.data, "train"), 1024)
        photos += load_photos(os.path.join(args.data, "train"), 512)
        if gray:
            photos = [np.asarray(Image.fromarray(p).convert("L"))[..., None] for p in photos]
        if args.revive:
            dead = revive_collapsed(model, photos, rng)
            print(f"revived {len(dead)} collapsed latent channels: {dead.tolist()}", flush=True)
        if args.transplant and not resumed:
            with torch.no_grad():
                fit_priors(model, model.encoder(random_crops(photos, 16, args.crop, rng))[0])
        model.to(args.device)
        torch.backends.cudnn.benchmark = True  # one crop size all run: let cuDNN pick its kernels once
        rate_params = [model.log_gain, model.log_inv_gain, *model.priors.parameters()]
        rate_ids = {id(p) for p in rate_params}
        opt = torch.optim.Adam([{"params": [p for p in model.parameters() if id(p) not in rate_ids], "scale": 1.0},
                                {"params": rate_params, "scale": args.rate_lr_scale}], lr=args.lr)
        stats = torch.zeros(len(lmb), 3, device=args.device)  # per level: PSNR sum, bpp sum, batches
        start, step, done = time.time(), 0, 0.0
        while done < 1.0:
            step += 1
            for group in opt.param_groups:
                group["lr"] = one_cycle(done, args.lr) * group["scale"]
            q = rng.randrange(len(lmb))
            x = random_crops(photos, args.batch, args.crop, rng, args.device)
            x_hat, bits, gauss_kl = model(x, q)
            pixels = x.shape[0] * x.shape[2] * x.shape[3]
            mse = F.mse_loss(x_hat, x)
            rate_weight = min(done / args.rate_warmup, 1.0) if args.rate_warmup else 1.0
            loss = lmb[q] * 255 ** 2 * mse + rate_weight * (bits + args.beta * gauss_kl) / pixels
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            # Kept on the device: reading a number back each step would stall a GPU.
            stats[q] += torch.stack([-10 * torch.log10(mse.detach()), bits.detach() / pixels, torch.ones_like(mse)])
            done = time.time() - start if args.time_budget else step
            done /= args.time_budget or args.steps
            if step % 200 == 0 or done >= 1.0:
                line = " ".join(f"q{i + 1}:{a / max(n, 1):.2f}dB/{b / max(n, 1):.3f}"
                                for i, (a, b, n) in enumerate(stats.tolist()))
                print(f"step {step} {time.time() - t0:.0f}s {line}", flush=True)
                stats.zero_()
                save(model, lmb, ckpt)
        model.cpu()
        save(model, lmb, ckpt)
        steps_run = step
    model.eval()
    train.export(Codec_view(model), args.out)
    qualities = []
    for q in range(len(lmb)):
        g, h = model.gains(q)
        qualities.append({"quality": q + 1, "lambda": lmb[q],
                          "gain": [float(v) for v in g.detach().flatten()],
                          "inverse_gain": [float(v) for v in h.detach().flatten()],
                          "channels": model.priors[q].cdf_tables(span=1024)})
    prior = {"name": args.name, "latent_channels": model.latent, "stride": model.stride, "colours": model.colours,
             "cdf_precision": CDF_PRECISION,
             "default_quality": args.default_quality, "qualities": qualities}
    with open(os.path.join(args.out, "prior.factorized.json"), "w") as f:
        json.dump(prior, f, separators=(",", ":"))
    paths = sorted(glob.glob(os.path.join(args.data, "val", "*")))
    if args.val_limit:
        paths = paths[:args.val_limit]
    if not paths:
        print(f"no validation photos in {os.path.join(args.data, 'val')}: run --export-only where they are")
    rows = []
    for q in range(len(lmb) if paths else 0):
        for path in paths:
            rgb = picture(path, gray)
            bpp, p = code_image(model, q, qualities[q]["channels"], rgb)
            rows.append({"quality": q + 1, "image": os.path.basename(path), "bpp": bpp, "psnr": p})
        sel = [r for r in rows if r["quality"] == q + 1]
        print(f"quality {q + 1}: {np.mean([r['bpp'] for r in sel]):.3f} bpp {np.mean([r['psnr'] for r in sel]):.2f} dB",
              flush=True)
    record = os.path.join(args.out, "metrics_rate.json")
    # Paths as the repository sees them (the data folder by name): the record travels with the model.
    paths_given = {k: portable(v) for k, v in vars(args).items()
                   if k in ("data", "out", "base", "transplant", "gray_from") and v is not None}
    train_run = vars(args) | paths_given | {"lambdas": lmb, "seconds": round(time.time() - t0),
                                           "steps_run": steps_run, "torch": torch.__version__}
    if args.export_only and os.path.exists(record):
        with open(record) as f:
            train_run = json.load(f)["train"]  # the training run's record, not this export's
    with open(record, "w") as f:
        json.dump({"train": train_run, "val": rows}, f, indent=1)


class Codec_view(nn.Module):
    """What train.export needs: .encoder and .decoder."""

    def __init__(self, model):
        super().__init__()
        self.encoder, self.decoder = model.encoder, model.decoder


if __name__ == "__main__":
    main()
