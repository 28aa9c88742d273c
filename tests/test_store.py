"""The HDF5 weight store: round trip, h5py-only layout, damage detection."""

import h5py
import numpy as np
import pytest

from useless_params.errors import InputError
from useless_params.store import WeightStore, write_store


def _write(path, epochs=3):
    rng = np.random.default_rng(0)
    kernels = [rng.normal(size=(epochs + 1, 4, 3)).astype(np.float32), rng.normal(size=(epochs + 1, 3, 2)).astype(np.float32)]
    biases = [rng.normal(size=(epochs + 1, 3)).astype(np.float32), rng.normal(size=(epochs + 1, 2)).astype(np.float32)]
    history = {"loss": np.arange(epochs, dtype=float), "test_accuracy": np.linspace(0, 1, epochs + 1)}
    write_store(path, kernels, biases, history, {"activation": "sigmoid", "epochs": epochs, "config": {"a": 1}})
    return kernels, biases


def test_round_trip(tmp_path):
    kernels, biases = _write(tmp_path / "w.h5")
    store = WeightStore(tmp_path / "w.h5")
    assert store.n_epochs == 3 and store.n_layers == 2 and store.activation == "sigmoid"
    assert store.config == {"a": 1}
    for epoch in (0, 2, -1):
        net = store.network(epoch)
        for layer in range(2):
            np.testing.assert_array_equal(net.kernels[layer], kernels[layer][epoch])
            np.testing.assert_array_equal(net.biases[layer], biases[layer][epoch])
    np.testing.assert_array_equal(store.history["loss"], [0, 1, 2])


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
