#!/usr/bin/env python3
"""A hyperprior model's hyper-decoder h_s in integer arithmetic, so that the Gaussian table each
latent value is coded with is picked identically on every machine (src/codec/hyper.rs runs the
same arithmetic; tests/it/hyper.rs holds it to goldens this module writes).

Fixed point: activations are integers at scale 2^F (`frac_bits`). The input is CompressAI's
z_hat = symbols + medians, as symbols * 2^F + round(medians * 2^F). Each conv or transposed conv
has int weights round(W * 2^k) with a power-of-two exponent k per output channel (the largest
that keeps |weights| < 2^15), an int64 bias round(b * 2^(F + k)); a value is the int64 sum of
products plus the bias, shifted right by k with rounding (floor((acc + 2^(k-1)) / 2^k)), then
ReLU, or LeakyReLU as (x * round(slope * 2^16)) >> 16 for x < 0, and clamped to int32.
The output is the scales at 2^F. A value's table index is the number of the scale table's first
L - 1 entries, each as floor(s * 2^F), that are below max(scale, floor(lower_bound * 2^F)):
CompressAI's `build_indexes`, with the comparisons on these integers.

Run as a script, it writes the goldens of tests/it/hyper.rs to tests/data/hyper/: for a seeded
small bmshj2018-hyperprior and mbt2018-mean (N 16, M 24; h_s weights scaled x3 so that the scales
span the table), hyper.json, seeded z symbols, this reference's outputs and table indexes, and how
often those indexes agree with CompressAI's float build_indexes.
    python3 models/compressai/hyper_int.py
"""

import json
import os

import numpy as np

FRAC_BITS = 12
WEIGHT_BITS = 15
SLOPE_BITS = 16


def _exponents(w):
    """Per output channel (axis 0), the largest k <= 30 with max |w| * 2^k < 2^15."""
    peak = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    k = np.floor(np.log2((2 ** WEIGHT_BITS - 1) / np.maximum(peak, 1e-30))).astype(np.int64)
    return np.clip(k, 0, 30)


def layer_spec(module, activation):
    """One torch Conv2d / ConvTranspose2d (then `activation`: "relu", "leaky_relu:SLOPE" or
    "none") as integer weights; weights are kept as [out, in, kh, kw] for both kinds."""
    import torch.nn as nn
    w = module.weight.detach().double().numpy()
    transposed = isinstance(module, nn.ConvTranspose2d)
    if transposed:
        w = w.transpose(1, 0, 2, 3)  # torch: [in, out, kh, kw]
    k = _exponents(w)
    wi = np.round(w * (2.0 ** k)[:, None, None, None]).astype(np.int64)
    b = module.bias.detach().double().numpy() if module.bias is not None else np.zeros(w.shape[0])
    bi = np.round(b * 2.0 ** (FRAC_BITS + k)).astype(np.int64)
    spec = {"kind": "deconv" if transposed else "conv", "in": int(w.shape[1]), "out": int(w.shape[0]),
            "kernel": int(w.shape[2]), "stride": int(module.stride[0]), "padding": int(module.padding[0]),
            "output_padding": int(module.output_padding[0]) if transposed else 0,
            "shift": k.tolist(), "bias": bi.tolist(), "weights": wi.reshape(-1).tolist()}
    if activation.startswith("leaky_relu:"):
        spec["activation"] = "leaky_relu"
        spec["slope"] = int(round(float(activation.split(":")[1]) * 2 ** SLOPE_BITS))
    else:
        spec["activation"] = activation
    return spec


def spec_of(h_s, medians, scale_table, lower_bound):
    """The integer form of `h_s` (an nn.Sequential of convs and activations)."""
    import torch.nn as nn
    mods = list(h_s)
    layers = []
    for i, m in enumerate(mods):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nxt = mods[i + 1] if i + 1 < len(mods) else None
            act = "none"
            if isinstance(nxt, nn.ReLU):
                act = "relu"
            elif isinstance(nxt, nn.LeakyReLU):
                act = f"leaky_relu:{nxt.negative_slope}"
            layers.append(layer_spec(m, act))
        elif not isinstance(m, (nn.ReLU, nn.LeakyReLU)):
            raise ValueError(f"h_s layer {type(m).__name__} has no integer form")
    return {"frac_bits": FRAC_BITS,
            "medians": np.round(np.asarray(medians, np.float64) * 2 ** FRAC_BITS).astype(np.int64).tolist(),
            "scale_table": np.floor(np.asarray(scale_table, np.float64) * 2 ** FRAC_BITS).astype(np.int64).tolist(),
            "lower_bound": int(np.floor(lower_bound * 2 ** FRAC_BITS)),
            "layers": layers}


def _round_shift(acc, k):
    """floor((acc + 2^(k-1)) / 2^k) per output channel (axis 0)."""
    k = np.asarray(k, np.int64)[:, None, None]
    half = np.where(k > 0, np.left_shift(np.int64(1), np.maximum(k - 1, 0)), 0)
    return np.right_shift(acc + half, k)


def run_layer(spec, x):
    """x: int64 [in, h, w] -> int64 [out, h', w']."""
    cin, cout, kk, s, p = spec["in"], spec["out"], spec["kernel"], spec["stride"], spec["padding"]
    w = np.asarray(spec["weights"], np.int64).reshape(cout, cin, kk, kk)
    _, h, wd = x.shape
    if spec["kind"] == "conv":
        oh, ow = (h + 2 * p - kk) // s + 1, (wd + 2 * p - kk) // s + 1
        xp = np.zeros((cin, h + 2 * p, wd + 2 * p), np.int64)
        xp[:, p:p + h, p:p + wd] = x
        acc = np.zeros((cout, oh, ow), np.int64)
        for dy in range(kk):
            for dx in range(kk):
                patch = xp[:, dy:dy + s * (oh - 1) + 1:s, dx:dx + s * (ow - 1) + 1:s]
                acc += np.einsum("oi,ihw->ohw", w[:, :, dy, dx], patch)
    else:
        op = spec["output_padding"]
        oh, ow = (h - 1) * s - 2 * p + kk + op, (wd - 1) * s - 2 * p + kk + op
        # Scatter: input (y, x) adds w[:, :, dy, dx] into output (y*s - p + dy, x*s - p + dx).
        full = np.zeros((cout, (h - 1) * s + kk + op, (wd - 1) * s + kk + op), np.int64)
        for dy in range(kk):
            for dx in range(kk):
                contrib = np.einsum("oi,ihw->ohw", w[:, :, dy, dx], x)
                full[:, dy:dy + s * (h - 1) + 1:s, dx:dx + s * (wd - 1) + 1:s] += contrib
        acc = full[:, p:p + oh, p:p + ow]
    acc = acc + np.asarray(spec["bias"], np.int64)[:, None, None]
    y = _round_shift(acc, spec["shift"])
    if spec["activation"] == "relu":
        y = np.maximum(y, 0)
    elif spec["activation"] == "leaky_relu":
        y = np.where(y < 0, np.right_shift(y * spec["slope"], SLOPE_BITS), y)
    return np.clip(y, -2 ** 31, 2 ** 31 - 1)


def run(spec, symbols):
    """symbols: int [C, h, w] of z -> int64 [C', H, W] output of h_s at 2^F."""
    x = np.asarray(symbols, np.int64) * 2 ** spec["frac_bits"] + np.asarray(spec["medians"], np.int64)[:, None, None]
    x = np.clip(x, -2 ** 31, 2 ** 31 - 1)
    for layer in spec["layers"]:
        x = run_layer(layer, x)
    return x


def indexes(spec, scales):
    """Table index of each scale (int at 2^F), as CompressAI's build_indexes on these integers."""
    s = np.maximum(scales, spec["lower_bound"])
    table = np.asarray(spec["scale_table"][:-1], np.int64)
    return (s[..., None] > table).sum(axis=-1).astype(np.int64)


def golden(cls, seed):
    import torch
    from compressai.models.google import get_scale_table
    torch.manual_seed(seed)
    model = cls(16, 24)
    model.update(get_scale_table(), force=True)
    with torch.no_grad():
        for p in model.h_s.parameters():
            p.mul_(3)
    gc = model.gaussian_conditional
    medians = model.entropy_bottleneck._get_medians().reshape(-1).detach().numpy()
    spec = spec_of(model.h_s, medians, gc.scale_table.numpy(), float(gc.lower_bound_scale.bound))
    z = torch.randint(-4, 5, (16, 3, 4), generator=torch.Generator().manual_seed(seed))
    out = run(spec, z.numpy())
    scales = out[:24]
    idx = indexes(spec, scales)
    z_hat = z[None].float() + torch.tensor(medians).reshape(1, -1, 1, 1)
    ref = model.h_s(z_hat)[0, :24].detach()
    agree = float((gc.build_indexes(ref).numpy() == idx).mean())
    return spec, {"z_shape": list(z.shape), "z": z.reshape(-1).tolist(), "out_shape": list(out.shape),
                  "out": out.reshape(-1).tolist(), "indexes": idx.reshape(-1).tolist(),
                  "agreement_with_float": agree}


def main():
    from compressai.models import MeanScaleHyperprior, ScaleHyperprior
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out_dir = os.path.join(root, "tests", "data", "hyper")
    os.makedirs(out_dir, exist_ok=True)
    for name, cls in (("bmshj2018-hyperprior", ScaleHyperprior), ("mbt2018-mean", MeanScaleHyperprior)):
        spec, case = golden(cls, 1)
        with open(os.path.join(out_dir, f"{name}.hyper.json"), "w") as f:
            json.dump(spec, f, separators=(",", ":"))
        with open(os.path.join(out_dir, f"{name}.golden.json"), "w") as f:
            json.dump(case, f, separators=(",", ":"))
        print(f"{name}: output {case['out_shape']}, indexes agree with float {case['agreement_with_float']:.4f}")


if __name__ == "__main__":
    main()
