"""MNIST conversion: the same arrays as Keras' mnist.npz, and clear errors for bad data."""

import gzip
import pickle
import zipfile

import numpy as np
import pytest

from useless_params import data
from useless_params.errors import InputError

from conftest import SHA256


def test_shapes_and_dtypes(mnist):
    for key, shape in data.EXPECTED_SHAPES.items():
        assert mnist[key].shape == shape
        assert mnist[key].dtype == np.uint8


def test_label_facts_match_keras(mnist):
    assert mnist["y_train"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(mnist["y_train"]).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(mnist["y_test"]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_pixels_are_exact_bytes(mnist):
    assert mnist["x_train"].max() == 255 and mnist["x_train"].min() == 0
    # Keras' first training image has 166 non-zero pixels, the brightest row-sum at row 14.
    assert np.count_nonzero(mnist["x_train"][0]) == 166


def test_npz_round_trip(mnist, mnist_npz):
    loaded = data.load_npz(mnist_npz)
    for key in data.EXPECTED_SHAPES:
        np.testing.assert_array_equal(loaded[key], mnist[key])


def test_model_inputs_scale_and_subset(mnist):
    x = data.model_inputs(mnist["x_test"], 100)
    assert x.shape == (100, 784) and x.dtype == np.float32
    assert x.max() == 1.0
    np.testing.assert_array_equal(data.labels(mnist["y_test"], 100), mnist["y_test"][:100])


def test_wrong_checksum_is_refused(mnist_wheel):
    with pytest.raises(InputError, match="does not match data.sha256"):
        data.read_pickle_from_wheel(mnist_wheel, "0" * 64)


def test_foreign_wheel_is_refused(tmp_path):
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("something/else.txt", "hello")
    with pytest.raises(InputError, match="other.whl"):
        data.read_pickle_from_wheel(wheel, SHA256)


def test_pickle_with_non_byte_pixels_is_refused():
    bad = np.full((2, 784), 0.3, np.float32)
    blob = gzip.compress(pickle.dumps(((bad, np.zeros(2)),) * 3))
    with pytest.raises(InputError, match="1/256"):
        data.arrays_from_pickle(blob)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.pop("y_test"), "missing arrays"),
        (lambda a: a.update(x_test=a["x_test"][:10]), "x_test has shape"),
        (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), "x_train has dtype float32"),
        (lambda a: a.update(y_train=np.full(60000, 12, np.uint8)), "labels outside"),
    ],
)
def test_damaged_npz_names_file_and_problem(mnist, tmp_path, change, message):
    arrays = dict(mnist)
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(InputError, match=message) as info:
        data.load_npz(path)
    assert "bad.npz" in str(info.value)


def test_truncated_npz_names_file(mnist_npz, tmp_path):
    path = tmp_path / "truncated.npz"
    path.write_bytes(mnist_npz.read_bytes()[:1000])
    with pytest.raises(InputError, match="truncated.npz"):
        data.load_npz(path)
