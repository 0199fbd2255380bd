#!/usr/bin/env python3
"""A decoder that conceals lost packets: fine-tunes a variable-rate codec's decoder on latents with
positions taken away and filled the way the runtime fills a lost slice (issue 32).

The encoder, gains and priors stay as they are (the bitstream does not change); only the decoder
learns. Each batch: crops, y = round(mu * g_q) at a random quality, then (in all but --clean of the
batches) a random fraction up to --loss-max of the latent positions is lost, i.i.d. as interleaved
slices lose them, and concealed as `Reassembly::concealed_latent` does: each lost value the
1/distance-weighted mean of the nearest received values up, down, left and right in its channel,
rounded half away from zero, 0 where none. Loss 255^2 * MSE of the decoded crop.

The validation photos (shrunk to --val-side) are measured at --quality: lossless PSNR at every
level (the decoder must not lose what it had) and the PSNR change with 10 % and 30 % of slices of
--per positions lost, slices interleaved (position p in slice p mod n), three placements each.

    python3 models/codec/train_erasure.py --data DATA --base models/codec-v5 --out DIR --time-budget 6000
    python3 models/codec/train_erasure.py --data DATA --base models/codec-v5 --out DIR --resume ...

Writes DIR/checkpoint_erasure.pt (the decoder's weights only, overwritten every --save-every
seconds), DIR/encoder.onnx and DIR/decoder.onnx and DIR/metrics_erasure.json (this stage appended).
"""

import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import add_data_arg, load_photos, portable, psnr  # noqa: E402

import train  # noqa: E402
from train import Codec, pad_to_stride, random_crops, to_rgb8, to_tensor  # noqa: E402
from train_rate import Codec_view, VariableRate, load_checkpoint  # noqa: E402


def nearest(known, values, dim, reverse):
    """For every position: the value of the nearest known position before it along `dim` (after
    it when `reverse`) and its distance (0 where there is none). known: B x H x W, values:
    B x C x H x W."""
    if reverse:
        known, values = known.flip(dim), values.flip(dim + 1)
    n = known.shape[dim]
    shape = [1, 1, 1]
    shape[dim] = n
    index = torch.arange(n, device=known.device).view(shape).expand_as(known)
    last = torch.where(known, index, torch.full_like(index, -1)).cummax(dim).values
    dist = torch.where(last >= 0, index - last, torch.zeros_like(index))
    gathered = values.gather(dim + 1, last.clamp(min=0)[:, None].expand_as(values))
    if reverse:
        gathered, dist = gathered.flip(dim + 1), dist.flip(dim)
    return gathered, dist


def conceal(latent, known):
    """`latent` (B x C x H x W integers as floats) with the positions not `known` (B x H x W)
    filled as the runtime fills them."""
    num = torch.zeros_like(latent)
    den = torch.zeros_like(known, dtype=latent.dtype)
    for dim, reverse in ((1, False), (1, True), (2, False), (2, True)):
        v, d = nearest(known, latent, dim, reverse)
        w = torch.where(d > 0, 1.0 / d.clamp(min=1).to(latent.dtype), torch.zeros_like(den))
        num += w[:, None] * v
        den += w
    mean = num / den.clamp(min=1e-9)[:, None]
    filled = torch.sign(mean) * torch.floor(mean.abs() + 0.5)
    filled = torch.where(den[:, None] > 0, filled, torch.zeros_like(filled))
    return torch.where(known[:, None], latent, filled)


def slice_loss(h, w, per, loss, seed):
    """Received positions (H x W) when `loss` of the interleaved slices of `per` positions are lost."""
    slices = max(1, h * w // per)
    lost = np.random.default_rng(seed).choice(slices, int(round(loss * slices)), replace=False)
    return torch.from_numpy(~np.isin(np.arange(h * w) % slices, lost).reshape(h, w))


@torch.no_grad()
def evaluate(model, photos, quality, per):
    """Lossless PSNR per level, and the mean PSNR change at --quality with 10 % / 30 % of slices lost."""
    lossless, changes = [], {0.1: [], 0.3: []}
    for q in range(len(model.lambdas)):
        g, h = model.gains(q)
        row = []
        for rgb in photos:
            xp, ih, iw = pad_to_stride(to_tensor(rgb), model.stride)
            y = torch.round(model.encoder(xp)[0] * g)
            clean = psnr(rgb, to_rgb8(model.decoder(y * h)[..., :ih, :iw]))
            row.append(clean)
            if q + 1 == quality:
                for loss in changes:
                    for seed in range(3):
                        known = slice_loss(y.shape[2], y.shape[3], per, loss, seed)[None]
                        out = model.decoder(conceal(y, known) * h)[..., :ih, :iw]
                        changes[loss].append(psnr(rgb, to_rgb8(out)) - clean)
        lossless.append(round(float(np.mean(row)), 3))
    return lossless, {f"{int(k * 100)}%": round(float(np.mean(v)), 3) for k, v in changes.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(ap)
    ap.add_argument("--base", required=True, help="the bundle dir whose checkpoint_rate.pt is fine-tuned")
    ap.add_argument("--out", required=True)
    ap.add_argument("--time-budget", type=float, default=6000, help="seconds of training in this stage")
    ap.add_argument("--save-every", type=float, default=600)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=192)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--loss-max", type=float, default=0.35, help="highest fraction of positions lost in a batch")
    ap.add_argument("--clean", type=float, default=0.25, help="fraction of batches with nothing lost")
    ap.add_argument("--quality", type=int, default=5, help="the level the loss figures are measured at")
    ap.add_argument("--per", type=int, default=10, help="positions per slice in the measurement")
    ap.add_argument("--val-side", type=int, default=512)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--resume", action="store_true", help="start from --out/checkpoint_erasure.pt")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--baseline", action="store_true", help="only measure --base's own decoder")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    torch.set_num_threads(args.threads)
    state, lmb, widths, layout = load_checkpoint(os.path.join(args.base, "checkpoint_rate.pt"))
    model = VariableRate(Codec(*widths, *layout), lmb)
    model.load_state_dict(state)
    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "checkpoint_erasure.pt")
    if args.resume or args.export_only:
        model.decoder.load_state_dict(torch.load(ckpt, map_location="cpu"))

    def save():
        torch.save(model.decoder.state_dict(), ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    t0, step = time.time(), 0
    training = not (args.export_only or args.baseline)
    if training:
        for p in model.parameters():
            p.requires_grad_(False)
        for p in model.decoder.parameters():
            p.requires_grad_(True)
        photos = load_photos(os.path.join(args.data, "train"), 1024) + load_photos(os.path.join(args.data, "train"), 512)
        opt = torch.optim.Adam(model.decoder.parameters(), lr=args.lr)
        model.encoder.eval()
        model.decoder.train()
        saved, done, sums = t0, 0.0, np.zeros(4)  # PSNR sums: clean batches, lossy batches; counts
        while done < 1.0:
            step += 1
            warm = min(done / 0.02, 1.0)
            for group in opt.param_groups:
                group["lr"] = args.lr * warm * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * done)))
            q = rng.randrange(len(lmb))
            x = random_crops(photos, args.batch, args.crop, rng)
            with torch.no_grad():
                g, h = model.gains(q)
                y = torch.round(model.encoder(x)[0] * g)
                lossy = rng.random() >= args.clean
                if lossy:
                    p = rng.uniform(0.02, args.loss_max)
                    known = torch.rand(y.shape[0], y.shape[2], y.shape[3]) >= p
                    y = conceal(y, known)
            mse = F.mse_loss(model.decoder(y * h), x)
            opt.zero_grad()
            (255 ** 2 * mse).backward()
            torch.nn.utils.clip_grad_norm_(model.decoder.parameters(), 1.0)
            opt.step()
            sums[int(lossy)] += -10 * np.log10(mse.item())
            sums[2 + int(lossy)] += 1
            done = (time.time() - t0) / args.time_budget
            if step % 200 == 0:
                print(f"step {step} {time.time() - t0:.0f}s clean {sums[0] / max(sums[2], 1):.2f} dB "
                      f"lossy {sums[1] / max(sums[3], 1):.2f} dB", flush=True)
                sums[:] = 0
            if time.time() - saved >= args.save_every:
                save()
                saved = time.time()
        save()
    model.eval()
    if not args.baseline:
        train.export(Codec_view(model), args.out)
    val = load_photos(os.path.join(args.data, "val"), args.val_side)
    lossless, changes = evaluate(model, val, args.quality, args.per)
    which = f"{args.base} as it is" if args.baseline else "the fine-tuned decoder"
    print(f"{which}: lossless per level {lossless}; quality {args.quality} with slices lost: {changes}", flush=True)
    if training:
        record = os.path.join(args.out, "metrics_erasure.json")
        stages = []
        if os.path.exists(record):
            with open(record) as f:
                stages = json.load(f)
        stages.append({"base": portable(args.base), "steps": step, "seconds": round(time.time() - t0),
                       "lr": args.lr, "seed": args.seed, "loss_max": args.loss_max, "clean": args.clean,
                       "val_side": args.val_side, "lossless_psnr": lossless, "quality": args.quality,
                       "psnr_change_slices_lost": changes})
        with open(record, "w") as f:
            json.dump(stages, f, indent=1)


if __name__ == "__main__":
    main()
