"""Writes the small graphs the `latent bench --onnx` tests time: two f32 inputs of free size (a
convolution of their sum), and one with an op tract does not implement."""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def two_inputs():
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 3, "h", "w"])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Add", ["a", "b"], ["s"]),
        helper.make_node("Conv", ["s", "w"], ["y"], pads=[1, 1, 1, 1]),
    ]
    graph = helper.make_graph(nodes, "two_inputs", [a, b], [y], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def unsupported():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")
    graph = helper.make_graph([node], "unsupported", [x], [y])
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)]
    )


if __name__ == "__main__":
    onnx.save(two_inputs(), os.path.join(HERE, "two-inputs.onnx"))
    onnx.save(unsupported(), os.path.join(HERE, "unsupported.onnx"))
