#!/usr/bin/env python3
"""What a CompressAI user does, in small: train a factorized-prior or hyperprior model for a few
minutes on the training photos, with CompressAI's own rate-distortion loss and auxiliary loss, then save its
`state_dict` after `model.update()`, ready for export.py --checkpoint.

    python3 models/compressai/train_demo.py --data DATA --minutes 10 --lmbda 0.0067 -o model.pth
    python3 models/compressai/train_demo.py --data DATA --arch mbt2018-mean --N 16 --M 24 -o m.pth

Crops of 128x128 from DATA/train, batch 8, Adam 1e-4 (aux 1e-3), N 64, M 96 by default. A real
model trains for days on a GPU; this one shows the path from a CompressAI run to a `.lat`.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from common import add_data_arg, load_photos  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import ARCHS, model_class  # noqa: E402


def crops(photos, rng, n, size):
    out = np.empty((n, 3, size, size), np.float32)
    for i in range(n):
        p = photos[rng.integers(len(photos))]
        y, x = rng.integers(p.shape[0] - size + 1), rng.integers(p.shape[1] - size + 1)
        out[i] = p[y:y + size, x:x + size].transpose(2, 0, 1) / 255.0
    return torch.from_numpy(out)


def main():
    from compressai.losses import RateDistortionLoss

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arg(p)
    p.add_argument("--arch", default="bmshj2018-factorized", choices=sorted(ARCHS))
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--lmbda", type=float, default=0.0067, help="CompressAI's rate-distortion trade-off")
    p.add_argument("--N", type=int, default=64)
    p.add_argument("--M", type=int, default=96)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--out", required=True)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    photos = load_photos(os.path.join(args.data, "train"))
    model = model_class(args.arch)(args.N, args.M)
    aux_params = {n for n, _ in model.named_parameters() if n.endswith(".quantiles")}
    params = dict(model.named_parameters())
    opt = torch.optim.Adam([params[n] for n in params if n not in aux_params], lr=1e-4)
    aux_opt = torch.optim.Adam([params[n] for n in aux_params], lr=1e-3)
    loss_fn = RateDistortionLoss(lmbda=args.lmbda)
    start, step = time.time(), 0
    while time.time() - start < 60 * args.minutes:
        x = crops(photos, rng, 8, 128)
        out = model(x)
        loss = loss_fn(out, x)
        opt.zero_grad()
        loss["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad()
        aux.backward()
        aux_opt.step()
        step += 1
        if step % 100 == 0:
            print(f"step {step} {time.time() - start:.0f}s bpp {loss['bpp_loss'].item():.3f} "
                  f"mse {loss['mse_loss'].item():.5f} aux {aux.item():.1f}", flush=True)
    model.update(force=True)
    torch.save(model.state_dict(), args.out)
    print(f"{args.out}: {step} steps")


if __name__ == "__main__":
    main()
