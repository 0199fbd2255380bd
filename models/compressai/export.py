#!/usr/bin/env python3
"""A CompressAI model (factorized prior or hyperprior) as a bundle that `latent --model DIR` codes
and decodes.

    python3 models/compressai/export.py --arch bmshj2018-factorized --quality 3 -o DIR
    python3 models/compressai/export.py --arch bmshj2018-factorized --checkpoint model.pth -o DIR
    python3 models/compressai/export.py --arch bmshj2018-factorized --N 32 --M 48 --seed 1 -o DIR \
        --golden 64,32,96,64 200,120,128,96
    python3 models/compressai/export.py --arch mbt2018-mean --N 16 --M 24 --seed 1 -o DIR \
        --golden 0,0,128,128 64,64,192,128

Writes DIR/encoder.onnx (the analysis transform g_a, minus the entropy bottleneck's medians),
DIR/decoder.onnx (the medians added back, then the synthesis transform g_s) and DIR/prior.json (the
bottleneck's quantized CDFs and offsets, one table per channel, 16-bit as the runtime codes them;
the same as prior.factorized.json, which `latent tables` turns into context tables).
The runtime then codes round(g_a(x) - medians) per channel, the symbols CompressAI's own
`compress()` codes, with the same tables; only the escape of a value outside its table is
written differently (Elias-gamma bits instead of CompressAI's 4-bit chunks).

--checkpoint is a `state_dict` saved with `torch.save(model.state_dict(), path)` (after
`model.update()`, or the tables are computed here); N and M come from its weights. Without it the
model is a seeded random init of the zoo's architecture for --quality (or of --N/--M): enough for
tests.

A hyperprior (bmshj2018-hyperprior, mbt2018-mean) bundle has four parts: DIR/encoder.onnx (g_a: the
latent y), DIR/hyper_encoder.onnx (h_a, of |y| for bmshj2018-hyperprior, minus the z bottleneck's
medians), DIR/decoder.onnx (g_s of y_hat) and DIR/hyper.json, the hyper-decoder h_s in integer
arithmetic (models/compressai/hyper_int.py), whose outputs pick each y value's Gaussian table (and,
for mbt2018-mean, give its mean) identically on every machine. prior.json then holds the Gaussian
tables as `channels` and the z bottleneck's tables under `hyperprior`. The runtime codes z, then
round(y - mean) with the table of each value's scale; CompressAI picks its tables from h_s in
float, so a few values may take a neighbouring table (hyper_int.py reports how often).
Hyperprior images are coded at any size (h_s's output is cropped to y); CompressAI's own
`compress()` needs multiples of 64, so --golden crops of a hyperprior must be.

--golden X,Y,W,H crops of the bundled sample photo writes DIR/golden.json with what
CompressAI's own `compress()` / `decompress()` give for each: bytes of its strings and the PSNR of
the 8-bit decoded crop (tests/it/compressai.rs holds the runtime to them).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from common import REPO, psnr  # noqa: E402

ARCHS = {"bmshj2018-factorized": 16, "bmshj2018-hyperprior": 16, "mbt2018-mean": 16}  # architecture: its stride
HYPER_STRIDE = 4  # h_a's downsampling: z is y / 4
SAMPLE = os.path.join(REPO, "tests", "data", "sample.png")


class Analysis(torch.nn.Module):
    """g_a, then minus the medians: what rounds to CompressAI's symbols."""

    def __init__(self, model):
        super().__init__()
        self.g_a = model.g_a
        self.register_buffer("medians", model.entropy_bottleneck._get_medians().reshape(1, -1, 1, 1).detach())

    def forward(self, x):
        return self.g_a(x) - self.medians


class Synthesis(torch.nn.Module):
    """Plus the medians, then g_s: CompressAI's dequantize and decoder."""

    def __init__(self, model):
        super().__init__()
        self.g_s = model.g_s
        self.register_buffer("medians", model.entropy_bottleneck._get_medians().reshape(1, -1, 1, 1).detach())

    def forward(self, symbols):
        return self.g_s(symbols + self.medians)


class HyperAnalysis(torch.nn.Module):
    """h_a (of |y| where the architecture takes it), then minus the z bottleneck's medians."""

    def __init__(self, model, magnitude):
        super().__init__()
        self.h_a = model.h_a
        self.magnitude = magnitude
        self.register_buffer("medians", model.entropy_bottleneck._get_medians().reshape(1, -1, 1, 1).detach())

    def forward(self, y):
        return self.h_a(torch.abs(y) if self.magnitude else y) - self.medians


def is_hyper(arch):
    return arch != "bmshj2018-factorized"


def model_class(arch):
    from compressai.models import FactorizedPrior, MeanScaleHyperprior, ScaleHyperprior
    return {"bmshj2018-factorized": FactorizedPrior, "bmshj2018-hyperprior": ScaleHyperprior,
            "mbt2018-mean": MeanScaleHyperprior}[arch]


def load(args):
    from compressai.zoo import image_models

    torch.manual_seed(args.seed)
    cls = model_class(args.arch)
    if args.checkpoint:
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        model = cls.from_state_dict(state)
    elif args.N or args.M:
        if not (args.N and args.M):
            sys.exit("error: --N and --M go together")
        model = cls(args.N, args.M)
    else:
        model = image_models[args.arch](quality=args.quality, pretrained=False)
    model.eval()
    model.update()  # no-op when the checkpoint has its tables already
    return model


def tables(em):
    """Per table of a CompressAI entropy model (a bottleneck's channel, or a Gaussian
    conditional's scale), the runtime's {offset, cdf}: its quantized CDF (the last symbol is the
    escape, as in the runtime) and the smallest value with a symbol of its own."""
    if em.entropy_coder_precision != 16:
        sys.exit(f"error: {type(em).__name__}'s tables are {em.entropy_coder_precision}-bit; the runtime codes 16-bit ones")
    channels = []
    for c in range(em._quantized_cdf.shape[0]):
        length = int(em._cdf_length[c])
        cdf = [int(v) for v in em._quantized_cdf[c, :length]]
        if cdf[0] != 0 or cdf[-1] != 1 << 16 or any(b <= a for a, b in zip(cdf, cdf[1:])):
            sys.exit(f"error: {type(em).__name__} table {c} is not a strictly increasing 0..65536 CDF")
        channels.append({"offset": int(em._offset[c]), "cdf": cdf})
    return channels


def export_hyper(model, out, name, arch, stride):
    """The four parts of a hyperprior bundle (see the module's doc)."""
    from hyper_int import spec_of

    image_axes = {0: "batch", 2: "height", 3: "width"}
    latent_axes = {0: "batch", 2: "latent_height", 3: "latent_width"}
    z_axes = {0: "batch", 2: "z_height", 3: "z_width"}
    m = model.g_a[-1].out_channels
    x = torch.rand(1, 3, 4 * 4 * stride, 6 * 4 * stride)
    torch.onnx.export(model.g_a, x, os.path.join(out, "encoder.onnx"), input_names=["image"],
                      output_names=["mu"], dynamic_axes={"image": image_axes, "mu": latent_axes},
                      opset_version=17, dynamo=False)
    y = torch.randn(1, m, 4 * HYPER_STRIDE, 6 * HYPER_STRIDE)
    torch.onnx.export(HyperAnalysis(model, arch == "bmshj2018-hyperprior"), y,
                      os.path.join(out, "hyper_encoder.onnx"), input_names=["latent"], output_names=["z"],
                      dynamic_axes={"latent": latent_axes, "z": z_axes}, opset_version=17, dynamo=False)
    torch.onnx.export(model.g_s, y, os.path.join(out, "decoder.onnx"), input_names=["latent"],
                      output_names=["image"], dynamic_axes={"latent": latent_axes, "image": image_axes},
                      opset_version=17, dynamo=False)
    gc = model.gaussian_conditional
    medians = model.entropy_bottleneck._get_medians().reshape(-1).detach().numpy()
    spec = spec_of(model.h_s, medians, gc.scale_table.numpy(), float(gc.lower_bound_scale.bound))
    with open(os.path.join(out, "hyper.json"), "w") as f:
        json.dump(spec, f, separators=(",", ":"))
    prior = {"name": name, "latent_channels": m, "stride": stride, "cdf_precision": 16,
             "channels": tables(gc),
             "hyperprior": {"z_channels": int(medians.shape[0]), "z_stride": HYPER_STRIDE,
                            "z": tables(model.entropy_bottleneck)}}
    with open(os.path.join(out, "prior.json"), "w") as f:
        json.dump(prior, f, separators=(",", ":"))
    remove_stale(out, ["prior.factorized.json"])


def remove_stale(out, files):
    """Files of the other kind of bundle, left by an earlier export into the same folder."""
    for file in files:
        if os.path.exists(os.path.join(out, file)):
            os.remove(os.path.join(out, file))


def export(model, out, name, stride):
    image_axes = {0: "batch", 2: "height", 3: "width"}
    latent_axes = {0: "batch", 2: "latent_height", 3: "latent_width"}
    x = torch.rand(1, 3, 4 * stride, 6 * stride)
    torch.onnx.export(Analysis(model), x, os.path.join(out, "encoder.onnx"), input_names=["image"],
                      output_names=["mu"], dynamic_axes={"image": image_axes, "mu": latent_axes},
                      opset_version=17, dynamo=False)
    m = model.entropy_bottleneck._quantized_cdf.shape[0]
    z = torch.randn(1, m, 4, 6)
    torch.onnx.export(Synthesis(model), z, os.path.join(out, "decoder.onnx"), input_names=["latent"],
                      output_names=["image"], dynamic_axes={"latent": latent_axes, "image": image_axes},
                      opset_version=17, dynamo=False)
    prior = {"name": name, "latent_channels": m, "stride": stride, "cdf_precision": 16,
             "channels": tables(model.entropy_bottleneck)}
    # prior.factorized.json too: `latent tables --model DIR PHOTOS` reads it and writes
    # context tables and a neighbour predictor into prior.json.
    for file in ("prior.json", "prior.factorized.json"):
        with open(os.path.join(out, file), "w") as f:
            json.dump(prior, f, separators=(",", ":"))
    remove_stale(out, ["hyper.json", "hyper_encoder.onnx"])


def golden(model, out, crops, arch):
    """What CompressAI itself gives for each crop of the sample photo."""
    photo = Image.open(SAMPLE).convert("RGB")
    rows = []
    for x, y, w, h in crops:
        if is_hyper(arch) and (w % 64 or h % 64):
            sys.exit(f"error: --golden {x},{y},{w},{h}: CompressAI's hyperprior compress() needs sides that are multiples of 64")
        crop = np.asarray(photo.crop((x, y, x + w, y + h)))
        t = torch.from_numpy(crop.copy()).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            c = model.compress(t)
            x_hat = model.decompress(c["strings"], c["shape"])["x_hat"]
        decoded = (x_hat[0].permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
        rows.append({"crop": [x, y, w, h], "bytes": sum(len(s[0]) for s in c["strings"]),
                     "psnr": round(psnr(crop, decoded), 4)})
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump({"sample": "tests/data/sample.png", "crops": rows}, f, indent=1)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="bmshj2018-factorized", choices=sorted(ARCHS))
    p.add_argument("--quality", type=int, default=1, help="the zoo's quality (1-8): its N and M")
    p.add_argument("--checkpoint", help="a state_dict saved with torch.save(model.state_dict(), path)")
    p.add_argument("--N", type=int, help="channels of the transforms (with --M, instead of --quality)")
    p.add_argument("--M", type=int, help="latent channels (with --N)")
    p.add_argument("--seed", type=int, default=0, help="of the random init, without --checkpoint")
    p.add_argument("--name", help="the bundle's name (default: from the architecture and quality or checkpoint)")
    p.add_argument("--golden", nargs="*", default=[], metavar="X,Y,W,H", help="crops of tests/data/sample.png")
    p.add_argument("-o", "--out", required=True)
    args = p.parse_args()
    crops = []
    for g in args.golden:
        try:
            crops.append([int(v) for v in g.split(",")])
        except ValueError:
            sys.exit(f"error: --golden {g}: expected X,Y,W,H")
        if len(crops[-1]) != 4:
            sys.exit(f"error: --golden {g}: expected X,Y,W,H")
    model = load(args)
    os.makedirs(args.out, exist_ok=True)
    if args.name:
        name = args.name
    elif args.checkpoint:
        name = f"{args.arch}-{os.path.splitext(os.path.basename(args.checkpoint))[0]}"
    elif args.N:
        name = f"{args.arch}-N{args.N}-M{args.M}-random{args.seed}"
    else:
        name = f"{args.arch}-q{args.quality}-random{args.seed}"
    if is_hyper(args.arch):
        export_hyper(model, args.out, name, args.arch, ARCHS[args.arch])
    else:
        export(model, args.out, name, ARCHS[args.arch])
    if crops:
        golden(model, args.out, crops, args.arch)
    print(f"{args.out}: {name}, {model.g_a[-1].out_channels} latent channels")


if __name__ == "__main__":
    main()
