"""The network value type and the registry lookup."""

import numpy as np
import pytest

from useless_params.errors import InputError
from useless_params.model import ALL_LAYERS, Architecture, Network, scope_order, scopes
from useless_params.registry import lookup


def test_architecture_gives_every_layer_shape_from_the_config():
    arch = Architecture.from_config({"hidden_layers": [300, 100], "activation": "relu"}, (28, 28), 10)
    assert arch.layer_sizes == (784, 300, 100, 10) and arch.n_layers == 3
    assert arch.kernel_shapes() == [(784, 300), (300, 100), (100, 10)]
    assert arch.parameter_shapes()[:2] == [(784, 300), (300,)]
    assert len(arch.stack.parameterised) == 3 and arch.stack.names == ["fc1", "fc2", "fc3"]


def test_glorot_uniform_network_has_the_architecture_and_zero_biases():
    arch = Architecture.mlp((20, 8, 3), "sigmoid")
    network = arch.glorot_uniform(np.random.default_rng(0))
    assert network.architecture == arch
    assert network.n_weights == 20 * 8 + 8 * 3 and network.n_biases == 11
    assert all((b == 0).all() for b in network.biases)
    assert np.abs(network.kernels[0]).max() <= np.sqrt(6 / 28)


def test_glorot_normal_is_keras_truncated_normal_and_glorot_uniform_stays_the_default():
    arch = Architecture.mlp((784, 300, 100, 10), "relu", "glorot_normal")
    network = arch.initial_network(np.random.default_rng(0))
    for kernel in network.kernels:
        fan_in, fan_out = kernel.shape
        std = np.sqrt(2 / (fan_in + fan_out))
        # Truncated at 2 std of the underlying normal (std / 0.8796), rescaled to keep the variance.
        assert kernel.dtype == np.float32 and np.abs(kernel).max() <= 2 * std / 0.87962566103423978
        assert abs(kernel.std() / std - 1) < (0.02 if kernel.size > 10_000 else 0.1)
    assert np.abs(network.kernels[0]).max() > 1.99 * np.sqrt(2 / 1084) / 0.87962566103423978
    assert all((b == 0).all() for b in network.biases)
    # The same draws from the same generator; glorot_uniform (the default) is what it always drew.
    again = arch.initial_network(np.random.default_rng(0))
    assert all(a.tobytes() == b.tobytes() for a, b in zip(network.kernels, again.kernels))
    default = Architecture.from_config({"hidden_layers": [300, 100], "activation": "relu"}, (28, 28), 10)
    assert default.initializer == "glorot_uniform"
    uniform = default.initial_network(np.random.default_rng(0))
    limit = np.sqrt(6 / 1084)
    assert uniform.kernels[0].tobytes() == np.random.default_rng(0).uniform(-limit, limit, (784, 300)).astype(
        np.float32).tobytes()
    with pytest.raises(InputError, match="network.initializer: unknown value 'he'; expected one of glorot_uniform"):
        Architecture.mlp((4, 2), "relu", "he").initial_network(np.random.default_rng(0))


def test_at_epoch_takes_one_epoch_of_stacks():
    kernels = [np.arange(2 * 3 * 2).reshape(2, 3, 2)]
    biases = [np.arange(4).reshape(2, 2)]
    network = Network.at_epoch(kernels, biases, -1, Architecture.mlp((3, 2), "relu"))
    assert network.kernels[0].tolist() == kernels[0][1].tolist() and network.biases[0].tolist() == [2, 3]


def test_scopes_are_each_layer_then_all_layers():
    assert scopes(3) == [("0", [0]), ("1", [1]), ("2", [2]), (ALL_LAYERS, [0, 1, 2])]
    assert sorted(["all", "10", "2"], key=scope_order) == ["2", "10", "all"]


def test_lookup_names_the_key_or_the_kind_and_lists_the_known_names():
    registry = {"a": 1, "b": 2}
    assert lookup(registry, "b", what="thing") == 2
    with pytest.raises(InputError, match="^unknown thing 'c'; expected one of a, b$"):
        lookup(registry, "c", what="thing")
    with pytest.raises(InputError, match="^x.y: unknown value 'c'; expected one of a, b$"):
        lookup(registry, "c", key="x.y")


LENET5 = [{"type": "conv2d", "filters": 20, "kernel_size": 5}, {"type": "max_pool", "size": 2},
          {"type": "conv2d", "filters": 50, "kernel_size": 5}, {"type": "max_pool", "size": 2},
          {"type": "flatten"}, {"type": "dense", "units": 500, "activation": "relu"}, {"type": "dense", "units": 10}]


def test_a_layer_list_sees_the_image_and_a_dense_first_list_the_flat_pixels():
    lenet5 = Architecture.from_config({"layers": LENET5}, (28, 28), 10)
    assert lenet5.stack.input_shape == (28, 28, 1) and lenet5.n_layers == 4 and not lenet5.is_mlp
    assert lenet5.kernel_shapes() == [(5, 5, 1, 20), (5, 5, 20, 50), (800, 500), (500, 10)]
    dense = Architecture.from_config({"layers": [{"type": "dense", "units": 100, "activation": "sigmoid"},
                                                 {"type": "dense", "units": 100, "activation": "sigmoid"},
                                                 {"type": "dense", "units": 10}]}, (28, 28), 10)
    # the shorthand and its layer list are one architecture: the same stores, the same delta evaluator
    assert dense == Architecture.from_config({"hidden_layers": [100, 100], "activation": "sigmoid"}, (28, 28), 10)
    assert dense.is_mlp and dense.layer_sizes == (784, 100, 100, 10) and dense.activation == "sigmoid"
    assert Architecture.from_record(lenet5.record()) == lenet5
    mixed = Architecture.from_config({"layers": [{"type": "dense", "units": 3, "activation": "relu"},
                                                 {"type": "dense", "units": 3, "activation": "tanh"},
                                                 {"type": "dense", "units": 2}]}, (2, 2), 2)
    assert not mixed.is_mlp  # hidden layers of two activations: not the one-activation MLP of the delta path


def test_conv_kernels_are_drawn_with_keras_fans():
    lenet5 = Architecture.from_config({"layers": LENET5}, (28, 28), 10)
    network = lenet5.initial_network(np.random.default_rng(0))
    # Keras: fan_in = 5 x 5 x c_in, fan_out = 5 x 5 x filters
    for kernel, (fan_in, fan_out) in zip(network.kernels[:2], [(25, 500), (500, 1250)]):
        limit = np.sqrt(6 / (fan_in + fan_out))
        assert 0.99 * limit < np.abs(kernel).max() <= limit
    assert [b.shape for b in network.biases] == [(20,), (50,), (500,), (10,)]


def test_the_forward_pass_of_a_conv_network_is_its_layers_in_blocks():
    from useless_params import forward

    lenet5 = Architecture.from_config({"layers": LENET5}, (28, 28), 10)
    network = lenet5.initial_network(np.random.default_rng(0))
    x = np.random.default_rng(1).random((300, 784)).astype(np.float32)  # more rows than one block
    whole = np.argmax(lenet5.stack.forward(x, network.parameters()), axis=1)
    assert np.array_equal(forward.predictions(network, x), whole)
    with pytest.raises(ValueError, match="forward_pass keeps dense products: not for conv 20@5x5"):
        forward.forward_pass(network, x)
