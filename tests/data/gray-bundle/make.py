#!/usr/bin/env python3
"""A tiny gray (one-colour) codec bundle for the runtime's gray path (tests/it/gray.rs): no training.

The encoder projects each 8x8 block onto four orthonormal functions (its mean and its horizontal,
vertical and diagonal ramps): a Conv with an 8x8 kernel at stride 8, 1 -> 4 channels. The decoder
draws them back: a 1x1 Conv 4 -> 64 and DepthToSpace 8. prior.json (`"colours": 1`) has one quality
level with gain 16 and flat tables over -128..=255. Writes encoder.onnx, decoder.onnx and prior.json
beside this script; deterministic.

    python3 tests/data/gray-bundle/make.py
"""

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
GAIN = 16.0


def basis():
    """4 x 8 x 8: orthonormal block functions."""
    r = np.arange(8, dtype=np.float64) - 3.5
    x, y = np.meshgrid(r, r)
    funcs = np.stack([np.ones((8, 8)), x, y, x * y])
    return (funcs / np.sqrt((funcs ** 2).sum(axis=(1, 2), keepdims=True))).astype(np.float32)


def save(nodes, inputs, outputs, weights, name):
    graph = helper.make_graph(nodes, name, inputs, outputs, [numpy_helper.from_array(w, n) for n, w in weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make.py")
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, f"{name}.onnx"))


def main():
    b = basis()
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, "height", "width"])
    mu = helper.make_tensor_value_info("mu", TensorProto.FLOAT, ["batch", 4, "lh", "lw"])
    save([helper.make_node("Conv", ["image", "w"], ["mu"], kernel_shape=[8, 8], strides=[8, 8])],
         [image], [mu], [("w", b[:, None])], "encoder")
    latent = helper.make_tensor_value_info("latent", TensorProto.FLOAT, ["batch", 4, "lh", "lw"])
    out = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, "height", "width"])
    synthesis = b.reshape(4, 64).T[:, :, None, None].copy()  # 64 block pixels (row-major) x 4 x 1 x 1
    save([helper.make_node("Conv", ["latent", "w"], ["blocks"], kernel_shape=[1, 1]),
          helper.make_node("DepthToSpace", ["blocks"], ["image"], blocksize=8, mode="DCR")],
         [latent], [out], [("w", synthesis)], "decoder")
    n = 384  # symbols -128..=255, then the escape
    cdf = np.concatenate([[0], np.cumsum([170] * n + [65536 - 170 * n])]).tolist()
    level = {"quality": 1, "gain": [GAIN] * 4, "inverse_gain": [1 / GAIN] * 4,
             "channels": [{"offset": -128, "cdf": cdf}] * 4}
    prior = {"name": "gray-test", "latent_channels": 4, "stride": 8, "colours": 1, "cdf_precision": 16,
             "default_quality": 1, "qualities": [level]}
    with open(os.path.join(HERE, "prior.json"), "w") as f:
        json.dump(prior, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
