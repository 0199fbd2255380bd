#!/usr/bin/env python3
"""int8 variants of the codec and denoiser graphs: per-channel static quantization calibrated on
training photos.

Writes `encoder.int8.onnx` and `decoder.int8.onnx` next to the f32 files of a codec bundle
(models/codec-v5 by default), in QOperator form: every Conv with stored weights becomes a
QLinearConv (int8 weights, one scale per output channel; uint8 activations with a per-tensor scale
and zero point; int32 bias), between QuantizeLinear/DequantizeLinear at the edges of each conv.
tract runs QLinearConv with integer matmul kernels (VNNI/AVX2 on x86, SMLAL on every ARMv8, SDOT
where the CPU has dotprod). GDN/IGDN (their 1x1 weights are computed in the graph) stay f32. The encoder's mu head keeps int8 weights but computes
in f32 (DequantizeLinear on its weights, which tract folds into f32 weights at load): its output is
rounded to integers at once, and a uint8 output grid there pushes values near +-0.5 across, costing
4.8 % more bytes. Its first conv computes in f32 too (8 % of its MACs): on codec-v5 that took the
sample photo's int8 bytes at the default quality from +1.66 % to +1.02 % (and the pipeline from
-0.273 to -0.258 dB). The weights are ~3.6x smaller than f32.

Calibration: percentile 99.999 of each activation's histogram (onnxruntime's quantizer) over 48 random
256x256 crops of DIR/train photos (seed 1), half of them from photos scaled to max side 512, half at
native resolution, for the encoder; round(mu) of those crops (f32 encoder) for the decoder. Inputs
with a known grid are not calibrated: the image (8-bit levels, where the first conv is int8) gets
scale 1/255, zero point 0, and the decoder's integer latent scale 1, zero point 128, so both are
quantized without error. A prior
with quality levels (`train_rate.py`) feeds the decoder symbol x inverse gain, off the integer grid:
there calibration takes the levels in turn, and the decoder's first and last convs keep int8 weights
but compute in f32, like the mu head. On codec-v2 at quality 6, decoding at int8 then cost 0.22 dB
on average over the validation photos (worst 0.85 dB, a smooth 43 dB photo) instead of 0.54 dB
(worst 2.2 dB) with only the first conv in f32. The current model's figures, and what the choices
cost, are in models/PRECISION.md: min/max ranges, or downscaled crops only, left some smooth
high-resolution photos over 1 dB worse.

A denoiser bundle (--denoiser DIR) gets `denoiser.int8.onnx` the same way, calibrated on the same
crops with Gaussian noise of sigma ~ U(0, 50) levels (seed 1, clipped, 8-bit), its first and last
convs computing in f32 with f32 weights (the input's noise and the noise estimate it outputs are
finer than a uint8 grid resolves; int8-rounded weights there alone cost denoise-fast 0.3 dB), and
each ReLU after an int8 conv folded into that conv's output range (twice the resolution of a
signed range). Its weights should come from a quantization-aware stage
(`models/denoise-v2/train.py --qat`, which trains on these grids): from plain weights this form
costs denoise-fast 0.36 dB and denoise-v2 0.90 dB at sigma 25 (models/PRECISION.md).

    python3 models/quantize.py --data DIR [--codec BUNDLE_DIR] [--percentile P] [--decoder-f32-first K]
    python3 models/quantize.py --data DIR --denoiser BUNDLE_DIR [--percentile P]

codec-gray needs --percentile 99.99 --decoder-f32-first 2: at its default quality its decoder's
activations are finer than the defaults' uint8 grid resolves (its model card has the figures).
denoise-v2 is quantized at --percentile 99.9999: at the default tract's int8 output drifts up to
3 levels from onnxruntime's on its golden picture (0 at 99.9999; models/PRECISION.md).

DIR is made by `bash shared/data/gather-images.sh DIR`. Needs onnx, onnxruntime, numpy, pillow.
Deterministic for a given DIR and onnxruntime version.
"""

import argparse
import glob
import json
import logging
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quantize_static)
from PIL import Image

from common import add_data_arg

HERE = os.path.dirname(os.path.abspath(__file__))
CROPS = 24
CROP = 256
PERCENTILE = 99.999
MU_HEAD = ("/mu/Conv",)
EXACT_INPUTS = {
    "image": {"scale": np.array(1 / 255, np.float32), "zero_point": np.array(0, np.uint8)},
    "latent": {"scale": np.array(1.0, np.float32), "zero_point": np.array(128, np.uint8)},
}


def crops(data, colours=3):
    """Calibration crops, 1xCxCROPxCROP in [0, 1] (C = `colours`: RGB, or 1 for a gray model's luma), from
    the training photos: CROPS of them at max side 512 (busy, high-contrast content) and CROPS at native
    resolution (smooth content, as in big photos)."""
    paths = sorted(glob.glob(os.path.join(data, "train", "*")))
    if not paths:
        raise SystemExit(f"no training photos in {data}/train (run shared/data/gather-images.sh {data})")
    rng = np.random.default_rng(1)
    out = []
    for i in range(2 * CROPS):
        img = Image.open(paths[rng.integers(len(paths))]).convert("RGB")
        scale = max(min(1.0, 512 / max(img.size)) if i < CROPS else 1.0, CROP / min(img.size))
        if scale != 1:
            img = img.resize((max(CROP, round(img.width * scale)), max(CROP, round(img.height * scale))),
                             Image.LANCZOS)
        x0 = rng.integers(img.width - CROP + 1)
        y0 = rng.integers(img.height - CROP + 1)
        crop = img.crop((x0, y0, x0 + CROP, y0 + CROP)).convert("L" if colours == 1 else "RGB")
        a = np.asarray(crop, np.float32).reshape(CROP, CROP, -1) / np.float32(255)
        out.append(a.transpose(2, 0, 1)[None])
    return out


def weight_convs(model):
    """Names of the Conv nodes whose weight is a stored initializer (not GDN's computed 1x1 weights)."""
    inits = {t.name for t in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type == "Conv" and n.input[1] in inits]


class Feeds(CalibrationDataReader):
    def __init__(self, input_name, feeds):
        self.it = iter([{input_name: x} for x in feeds])

    def get_next(self):
        return next(self.it, None)


def quantize(path, feeds, out_path, keep_f32=(), percentile=PERCENTILE, fold_relu=False, f32_weights=False):
    """Writes the QOperator int8 form of `path`; Conv nodes named in `keep_f32` compute in f32 (with
    int8 weights, or f32 ones with `f32_weights`); activation ranges from the `percentile` of their
    histograms (None: min/max). `fold_relu`: a ReLU after an int8 conv becomes the conv's output
    range [0, max] (the next conv takes its uint8 output as is)."""
    model = onnx.load(path)
    relus = [n.name for n in model.graph.node if n.op_type == "Relu"] if fold_relu else []
    input_name = model.graph.input[0].name
    exact = input_name in EXACT_INPUTS and not any(n.input[0] == input_name for n in model.graph.node
                                                   if n.name in keep_f32)
    overrides = {input_name: [EXACT_INPUTS[input_name]]} if exact else {}
    quantize_static(path, out_path, Feeds(input_name, feeds), quant_format=QuantFormat.QOperator,
                    op_types_to_quantize=["Conv", "Relu"] if fold_relu else ["Conv"],
                    nodes_to_quantize=[n for n in weight_convs(model) if n not in keep_f32] + relus, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax if percentile is None else CalibrationMethod.Percentile,
                    extra_options={"CalibPercentile": percentile, "TensorQuantOverrides": overrides})
    # onnxruntime leaves shape annotations with a symbolic batch dim that tract cannot unify.
    out = onnx.load(out_path)
    del out.graph.value_info[:]
    if not f32_weights:
        int8_weights(out, keep_f32)
    out.doc_string = (f"int8 of {os.path.basename(path)}: models/quantize.py, {2 * CROPS} training crops, "
                      f"percentile {percentile}, f32 convs {', '.join(keep_f32) or 'none'}")
    onnx.save(out, out_path)


def int8_weights(model, conv_names):
    """Stores the weights of the named (f32) Conv nodes as int8 with one scale per output channel,
    behind a DequantizeLinear: int8 storage, f32 arithmetic."""
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    nodes = list(graph.node)
    for node in [n for n in nodes if n.name in conv_names]:
        name = node.input[1]
        w = numpy_helper.to_array(inits[name]).astype(np.float32)
        scale = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(axis=1), 1e-12) / 127.0
        q = np.clip(np.round(w / scale.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
        graph.initializer.remove(inits[name])
        graph.initializer.extend([numpy_helper.from_array(q, f"{name}_int8"),
                                  numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale"),
                                  numpy_helper.from_array(np.zeros(w.shape[0], np.int8), f"{name}_zero")])
        dq = helper.make_node("DequantizeLinear", [f"{name}_int8", f"{name}_scale", f"{name}_zero"], [name],
                              name=f"{name}_dequantize", axis=0)
        nodes.insert(nodes.index(node), dq)
    del graph.node[:]
    graph.node.extend(nodes)


def decoder_inputs(mus, prior):
    """What the decoder gets for each calibration latent: round(mu) for a single-rate prior; for a
    prior with quality levels, symbol * inverse gain per channel, the levels taken in turn."""
    levels = prior.get("qualities")
    if not levels:
        return [np.round(mu).astype(np.float32) for mu in mus]
    out = []
    for i, mu in enumerate(mus):
        level = levels[i % len(levels)]
        gain = np.array(level["gain"], np.float32).reshape(1, -1, 1, 1)
        inverse = np.array(level["inverse_gain"], np.float32).reshape(1, -1, 1, 1)
        out.append((np.round(mu * gain) * inverse).astype(np.float32))
    return out


def noisy(images):
    """Each crop with Gaussian noise of sigma ~ U(0, 50) levels, clipped and rounded to 8 bits."""
    rng = np.random.default_rng(1)
    out = []
    for x in images:
        sigma = rng.uniform(0, 50) / 255
        y = np.round(np.clip(x + sigma * rng.standard_normal(x.shape), 0, 1) * 255) / 255
        out.append(y.astype(np.float32))
    return out


def quantize_denoiser(bundle, data, percentile):
    path = os.path.join(bundle, "denoiser.onnx")
    convs = weight_convs(onnx.load(path))
    out = os.path.join(bundle, "denoiser.int8.onnx")
    # The H/2 level (train.py's head and tail: the first and last convs, and the residual blocks
    # beside them, if any) computes in f32.
    keep = [c for c in convs if c.startswith(("/head/", "/tail/"))] or [convs[0], convs[-1]]
    quantize(path, noisy(crops(data)), out, keep, percentile, fold_relu=True, f32_weights=True)
    print(f"{out}: {os.path.getsize(out):,} bytes (f32 {os.path.getsize(path):,})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_arg(ap, "directory made by gather-images.sh")
    ap.add_argument("--codec", default=os.path.join(HERE, "codec-v5"),
                    help="bundle directory (default: the embedded one, models/codec-v5)")
    ap.add_argument("--denoiser", metavar="BUNDLE_DIR", help="quantize this denoiser bundle instead of a codec")
    ap.add_argument("--percentile", type=float, default=PERCENTILE,
                    help=f"activation range: this percentile of each histogram (default {PERCENTILE})")
    ap.add_argument("--decoder-f32-first", type=int, default=1, metavar="K",
                    help="with quality levels: the decoder's first K weight convs (and its last) compute in f32")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    if args.denoiser:
        quantize_denoiser(args.denoiser, args.data, args.percentile)
        return
    codec = args.codec
    with open(os.path.join(codec, "prior.json")) as f:
        prior = json.load(f)
    images = crops(args.data, prior.get("colours", 3))
    encoder = os.path.join(codec, "encoder.onnx")
    enc = ort.InferenceSession(encoder, providers=["CPUExecutionProvider"])
    latents = decoder_inputs([enc.run(None, {"image": x})[0] for x in images], prior)
    decoder = os.path.join(codec, "decoder.onnx")
    # Levelled priors: the first conv (off-grid input) and the last (whose input's uint8 grid is
    # visible in the picture at high qualities) compute in f32.
    convs = weight_convs(onnx.load(decoder))
    decoder_f32 = (*convs[:args.decoder_f32_first], convs[-1]) if prior.get("qualities") else ()
    encoder_f32 = (weight_convs(onnx.load(encoder))[0], *MU_HEAD)
    for path, feeds, keep_f32 in [(encoder, images, encoder_f32),
                                  (decoder, latents, decoder_f32)]:
        out = path[:-len(".onnx")] + ".int8.onnx"
        quantize(path, feeds, out, keep_f32, args.percentile)
        print(f"{out}: {os.path.getsize(out):,} bytes (f32 {os.path.getsize(path):,})")


if __name__ == "__main__":
    main()
