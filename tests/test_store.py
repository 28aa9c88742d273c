"""The HDF5 weight store: round trip, h5py-only layout, damage detection."""

import h5py
import numpy as np
import pytest

from useless_params.errors import InputError
from useless_params.model import Architecture, Network
from useless_params.store import WeightStore, write_store


def _write(path, epochs=3):
    rng = np.random.default_rng(0)
    kernels = [rng.normal(size=(epochs + 1, 4, 3)).astype(np.float32), rng.normal(size=(epochs + 1, 3, 2)).astype(np.float32)]
    biases = [rng.normal(size=(epochs + 1, 3)).astype(np.float32), rng.normal(size=(epochs + 1, 2)).astype(np.float32)]
    history = {"loss": np.arange(epochs, dtype=float), "test_accuracy": np.linspace(0, 1, epochs + 1)}
    write_store(path, Architecture.mlp((4, 3, 2), "sigmoid"), kernels, biases, history, {"epochs": epochs, "config": {"a": 1}})
    return kernels, biases


def test_round_trip(tmp_path):
    kernels, biases = _write(tmp_path / "w.h5")
    store = WeightStore(tmp_path / "w.h5")
    assert store.n_epochs == 3 and store.n_layers == 2 and store.architecture.activation == "sigmoid"
    assert store.architecture == Architecture.mlp((4, 3, 2), "sigmoid", "glorot_uniform")
    assert store.config == {"a": 1}
    for epoch in (0, 2, -1):
        net = store.network(epoch)
        for layer in range(2):
            np.testing.assert_array_equal(net.kernels[layer], kernels[layer][epoch])
            np.testing.assert_array_equal(net.biases[layer], biases[layer][epoch])
    np.testing.assert_array_equal(store.history["loss"], [0, 1, 2])


def test_the_architecture_is_recorded_as_a_layer_list_and_a_store_of_other_layers_is_refused(tmp_path):
    import json

    kernels = [np.zeros((2, 4, 3), np.float32), np.zeros((2, 3, 2), np.float32)]
    biases = [np.zeros((2, 3), np.float32), np.zeros((2, 2), np.float32)]
    write_store(tmp_path / "n.h5", Architecture.mlp((4, 3, 2), "relu", "glorot_normal"), kernels, biases, {}, {})
    store = WeightStore(tmp_path / "n.h5")
    assert store.architecture.initializer == "glorot_normal"
    with h5py.File(tmp_path / "n.h5") as h5:
        assert json.loads(h5.attrs["architecture"]) == {
            "input_shape": [4], "initializer": "glorot_normal",
            "layers": [{"type": "dense", "units": 3, "activation": "relu"},
                       {"type": "dense", "units": 2, "activation": "linear"}]}
    store.check_architecture(Architecture.mlp((4, 3, 2), "relu", "glorot_normal"))
    with pytest.raises(InputError, match=r"n.h5: holds dense 3 relu, dense 2 \(glorot_normal\), but the config "
                                         r"describes dense 3 sigmoid, dense 2 \(glorot_normal\); delete it"):
        store.check_architecture(Architecture.mlp((4, 3, 2), "sigmoid", "glorot_normal"))


def test_a_conv_network_round_trips_with_its_kernels_in_keras_axis_order(tmp_path):
    from useless_params.layers import layers_from_config

    entries = [{"type": "conv2d", "filters": 3, "kernel_size": 3, "activation": "relu"},
               {"type": "max_pool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 4}]
    architecture = Architecture(layers_from_config(entries, 4, (8, 8, 1)))
    network = architecture.initial_network(np.random.default_rng(0))
    assert [k.shape for k in network.kernels] == [(3, 3, 1, 3), (27, 4)]
    kernels = [np.stack([k, k + 1]) for k in network.kernels]
    biases = [np.stack([b, b + 1]) for b in network.biases]
    write_store(tmp_path / "conv.h5", architecture, kernels, biases, {}, {})
    store = WeightStore(tmp_path / "conv.h5")
    assert store.architecture == architecture and store.architecture.stack.names == ["conv1", "fc1"]
    again = store.network(-1)
    assert all(np.array_equal(a, b[-1]) for a, b in zip(again.kernels, kernels))
    with pytest.raises(ValueError, match="only a multilayer perceptron has layer widths"):
        store.architecture.layer_sizes


def test_layout_is_plain_h5py(tmp_path):
    _write(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5") as h5:
        assert h5["layers/layer_0/kernel"].shape == (4, 4, 3)
        assert h5["layers/layer_1/bias"].shape == (4, 2)
        assert h5.attrs["format"] == "useless-params-weights"


def test_epoch_out_of_range(tmp_path):
    _write(tmp_path / "w.h5")
    with pytest.raises(InputError, match="epoch 7 not stored"):
        WeightStore(tmp_path / "w.h5").network(7)


def test_truncated_store_names_file(tmp_path):
    _write(tmp_path / "w.h5")
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes((tmp_path / "w.h5").read_bytes()[:2000])
    with pytest.raises(InputError, match="damaged.h5"):
        WeightStore(damaged)


def test_foreign_hdf5_names_file(tmp_path):
    with h5py.File(tmp_path / "foreign.h5", "w") as h5:
        h5["x"] = np.zeros(3)
    with pytest.raises(InputError, match="foreign.h5: not a useless-params-weights"):
        WeightStore(tmp_path / "foreign.h5")


def _zero_bytes_inside(path, n_bytes=40_000):
    """A same-size, in-place corruption: ``n_bytes`` zeros written in the middle of the file."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\0" * min(n_bytes, size // 4))


def test_zeros_written_inside_the_store_are_caught_on_read(tmp_path):
    """Same size, valid HDF5 structure, wrong numbers: the Fletcher-32 checksums catch it."""
    rng = np.random.default_rng(1)
    epochs = 20
    kernels = [rng.normal(size=(epochs + 1, 200, 100)).astype(np.float32)]
    biases = [rng.normal(size=(epochs + 1, 100)).astype(np.float32)]
    path = tmp_path / "w.h5"
    write_store(path, Architecture.mlp((200, 100), "sigmoid"), kernels, biases, {}, {})
    _zero_bytes_inside(path)
    store = WeightStore(path)
    caught = []
    for epoch in range(epochs + 1):
        try:
            network = store.network(epoch)
        except InputError as exc:
            caught.append(str(exc))
            continue
        assert np.array_equal(network.kernels[0], kernels[0][epoch]), "a damaged epoch was read as valid"
    assert caught and all(m.startswith(f"{path}: damaged weight store (epoch ") for m in caught)
    assert "delete it and rerun snakemake" in caught[0]


def test_store_without_checksums_is_rejected(tmp_path):
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["format"], h5.attrs["format_version"] = "useless-params-weights", 3
        h5["layers/layer_0/kernel"] = np.zeros((2, 3, 4), np.float32)
        h5["layers/layer_0/bias"] = np.zeros((2, 4), np.float32)
    with pytest.raises(InputError, match="old.h5: damaged weight store .dataset layers/layer_0/bias has no checksum"):
        WeightStore(path)


def test_zeros_written_inside_the_change_scale_file_are_caught(tmp_path):
    from useless_params.change_scale import ChangeScales

    rng = np.random.default_rng(2)
    before = Network.mlp([rng.normal(size=(300, 100))], [np.zeros(100)], "sigmoid")
    after = Network.mlp([rng.normal(size=(300, 100))], [rng.normal(size=100)], "sigmoid")
    path = tmp_path / "change_scale.h5"
    ChangeScales.between(before, after, 0, 1).save(path)
    _zero_bytes_inside(path)
    with pytest.raises(InputError, match="change_scale.h5: damaged change-scale file"):
        ChangeScales.load(path)


def test_store_shapes_are_those_of_its_architecture(tmp_path):
    """The store records the architecture and checks every layer against it, on write and on read."""
    kernels = [np.zeros((2, 4, 3), np.float32), np.zeros((2, 3, 2), np.float32)]
    biases = [np.zeros((2, 3), np.float32), np.zeros((2, 2), np.float32)]
    with pytest.raises(ValueError, match="layer 1: kernel .* are not the shapes of dense 3 relu, dense 5"):
        write_store(tmp_path / "bad.h5", Architecture.mlp((4, 3, 5), "relu"), kernels, biases, {}, {})
    write_store(tmp_path / "w.h5", Architecture.mlp((4, 3, 2), "relu"), kernels, biases, {}, {})
    with h5py.File(tmp_path / "w.h5", "r+") as h5:
        h5.attrs["architecture"] = h5.attrs["architecture"].replace('"units": 2', '"units": 7')
    with pytest.raises(InputError, match="w.h5: layer_1 kernel .* do not match its architecture .dense 3 relu, dense 7"):
        WeightStore(tmp_path / "w.h5")
