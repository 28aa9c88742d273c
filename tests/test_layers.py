"""Typed layers (useless_params.layers): shapes, counts and FLOPs against the literature, the numpy
forward pass against Keras, and a one-line config error for every bad layer list."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from workflow_helpers import REPO

from useless_params.errors import InputError
from useless_params.layers import Conv2D, Dense, Flatten, LayerStack, MaxPool2D, layers_from_config, mlp_layers

sys.path.insert(0, str(REPO / "benchmarks"))  # keras_reference: the Keras models we are checked against

# Caffe's LeNet-5 (examples/mnist/lenet_train_test.prototxt), what Han et al. 2015 pruned.
LENET5 = [{"type": "conv2d", "filters": 20, "kernel_size": 5}, {"type": "max_pool", "size": 2, "stride": 2},
          {"type": "conv2d", "filters": 50, "kernel_size": 5}, {"type": "max_pool", "size": 2, "stride": 2},
          {"type": "flatten"}, {"type": "dense", "units": 500, "activation": "relu"}, {"type": "dense", "units": 10}]


def test_lenet5_has_han_et_al_table_3_weights_and_flops():
    stack = layers_from_config(LENET5, 10, (28, 28, 1))
    assert stack.names == ["conv1", "conv2", "fc1", "fc2"]
    assert stack.n_weights == 430_500 and stack.n_biases == 580
    # Han et al. 2015, Table 3: FLOPs 576K, 3200K, 800K, 10K; 4586K in all (2 per multiply-add)
    assert [2 * m for m in stack.multiply_adds()] == [576_000, 3_200_000, 800_000, 10_000]
    assert [p["kernel"] for p in stack.parameter_shapes()] == [(5, 5, 1, 20), (5, 5, 20, 50), (800, 500), (500, 10)]
    assert stack.fans()[:2] == [(25, 500), (500, 1250)]  # Keras: receptive field x in / out channels
    # the forward pass's FLOPs also add each bias once per output position
    assert stack.flops() == 4_586_000 + 24 * 24 * 20 + 8 * 8 * 50 + 500 + 10


def test_a_pruned_conv_weight_costs_one_multiply_add_per_output_position():
    stack = layers_from_config(LENET5, 10, (28, 28, 1))
    # 8 % of conv1's 500 weights and 1 % of fc1's: conv1 has 24 x 24 output positions
    assert stack.multiply_adds([40, 25_000, 4_000, 5_000]) == [40 * 576, 25_000 * 64, 4_000, 5_000]


def test_the_mlp_shorthand_is_a_dense_stack():
    stack = LayerStack((784,), mlp_layers([300, 100], "relu", 10))
    assert stack.names == ["fc1", "fc2", "fc3"]
    assert stack.n_weights == 266_200 and stack.n_biases == 410
    assert 2 * sum(stack.multiply_adds()) == 532_400
    assert stack.flops([1000, 3000, 1000]) == 2 * 5000 + 410  # a pruned MLP: 2 per nonzero weight, 1 per bias
    assert [p["kernel"] for p in stack.parameter_shapes()] == [(784, 300), (300, 100), (100, 10)]


def _keras_logits(stack, params, x):
    from keras_reference import keras_model

    model = keras_model(stack, output_activation="linear")
    model.set_weights([array for p in params for array in (p["kernel"], p["bias"])])
    return model.predict(x, verbose=0)


@pytest.mark.parametrize("entries", [
    LENET5,
    # not LeNet-5: same padding, a stride of 2, tanh, an overlapping pool, an odd input size
    [{"type": "conv2d", "filters": 6, "kernel_size": 3, "padding": "same", "activation": "tanh"},
     {"type": "max_pool", "size": 3, "stride": 2},
     {"type": "conv2d", "filters": 4, "kernel_size": 4, "stride": 2, "padding": "same", "activation": "sigmoid"},
     {"type": "flatten"}, {"type": "dense", "units": 7, "activation": "relu"}, {"type": "dense", "units": 10}],
], ids=["lenet5", "same-padding-tanh"])
def test_the_numpy_and_tensorflow_steps_agree_with_keras(entries):
    rng = np.random.default_rng(3)
    input_shape = (28, 28, 1) if entries is LENET5 else (13, 11, 2)
    stack = layers_from_config(entries, 10, input_shape)
    params = [{kind: rng.normal(0, 0.3, shape).astype(np.float32) for kind, shape in shapes.items()}
              for shapes in stack.parameter_shapes()]
    x = rng.uniform(0, 1, (16, *input_shape)).astype(np.float32)
    ours = stack.forward(x, params)
    assert ours.shape == (16, 10)
    keras_logits = _keras_logits(stack, params, x)
    np.testing.assert_allclose(ours, keras_logits, rtol=1e-4, atol=1e-4)
    import tensorflow as tf  # the training loops' step (LayerStack.tensorflow)

    np.testing.assert_allclose(stack.tensorflow(tf, tf.constant(x), params).numpy(), keras_logits, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("entries, input_shape, message", [
    ([{"type": "conv2d", "filters": 4, "kernel_size": 9}, {"type": "flatten"}, {"type": "dense", "units": 10}],
     (8, 8, 1), r"network.layers\[0\].kernel_size: 9 is larger than its 8x8 input"),
    ([{"type": "conv2d", "filters": 4, "kernel_size": 5}, {"type": "max_pool", "size": 5}, {"type": "flatten"},
      {"type": "dense", "units": 10}], (8, 8, 1), r"network.layers\[1\].size: a 5x5 pool leaves a 0-size map of its 4x4"),
    ([{"type": "flatten"}, {"type": "dense", "units": 9}], (8, 8, 1),
     r"network.layers\[1\]: the last layer must be dense with 10 units \(one per class\), not dense 9"),
    ([{"type": "flatten"}, {"type": "dense", "units": 10, "activation": "relu"}], (8, 8, 1),
     r"network.layers\[1\].activation: the output layer has none"),
    ([{"type": "conv3d", "filters": 2}], (8, 8, 1), r"network.layers\[0\].type: unknown value 'conv3d'; expected one of"),
    ([{"type": "conv2d", "filters": 2, "kernel_size": 3, "padding": "full"}], (8, 8, 1),
     r"network.layers\[0\].padding: 'full' is not a padding \(valid or same\)"),
    ([{"type": "conv2d", "filters": 2, "kernel": 3}], (8, 8, 1), r"network.layers\[0\].kernel: not a key of a conv2d layer"),
    ([{"type": "conv2d", "filters": 2}], (8, 8, 1), r"network.layers\[0\].kernel_size: a conv2d layer needs it"),
    ([{"type": "conv2d", "filters": 0, "kernel_size": 3}], (8, 8, 1),
     r"network.layers\[0\].filters: 0 is not a whole number >= 1"),
    ([{"type": "dense", "units": 10}], (8, 8, 1), r"network.layers\[0\]: a dense layer needs flat input, got \(8, 8, 1\)"),
    ([{"type": "conv2d", "filters": 2, "kernel_size": 3}], (64,), r"network.layers\[0\]: a conv2d layer needs \(height, "),
    ([{"type": "dense", "units": 10, "activation": "swish"}], (64,), r"network.layers\[0\].activation: unknown value"),
    ([], (64,), r"network.layers: \[\] is not a list of layers"),
    (["dense"], (64,), r"network.layers\[0\]: 'dense' is not a layer"),
])
def test_a_bad_layer_list_is_one_error_naming_its_key(entries, input_shape, message):
    with pytest.raises(InputError, match=message):
        layers_from_config(entries, 10, input_shape)


def test_layers_describe_themselves_by_type():
    assert layers_from_config(LENET5, 10, (28, 28, 1)).describe() == (
        "conv 20@5x5, max-pool 2/2, conv 50@5x5, max-pool 2/2, flatten, dense 500 relu, dense 10")
    assert Dense(3).describe() == "dense 3"
