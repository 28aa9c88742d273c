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
    for key, shape in data.dataset("mnist").array_shapes().items():
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
    loaded = data.load_npz(mnist_npz, data.dataset("mnist"))
    for key in data.ARRAYS:
        np.testing.assert_array_equal(loaded[key], mnist[key])


def test_model_inputs_scale_and_subset(mnist):
    x = data.model_inputs(mnist["x_test"], 100)
    assert x.shape == (100, 784) and x.dtype == np.float32
    assert x.max() == 1.0
    np.testing.assert_array_equal(data.labels(mnist["y_test"], 100), mnist["y_test"][:100])


def test_wrong_checksum_is_refused(mnist_wheel):
    with pytest.raises(InputError, match="does not match data.mnist.sha256"):
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
        data.load_npz(path, data.dataset("mnist"))
    assert "bad.npz" in str(info.value)


def test_truncated_npz_names_file(mnist_npz, tmp_path):
    path = tmp_path / "truncated.npz"
    path.write_bytes(mnist_npz.read_bytes()[:1000])
    with pytest.raises(InputError, match="truncated.npz"):
        data.load_npz(path, data.dataset("mnist"))


# --- Fashion-MNIST and the dataset registry.

def _idx(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes, as LeCun's and Zalando's files are (before gzip)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture()
def idx_dir(tmp_path):
    """A directory of the four IDX .gz files (random images) and their SHA-256s."""
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (60000, 28, 28)), "y_train": rng.integers(0, 10, 60000),
              "x_test": rng.integers(0, 256, (10000, 28, 28)), "y_test": rng.integers(0, 10, 10000)}
    sha256 = {}
    for key, name in data.IDX_FILES.items():
        blob = gzip.compress(_idx(arrays[key]), compresslevel=1)
        (tmp_path / name).write_bytes(blob)
        sha256[name] = data.sha256_of(blob)
    return tmp_path, sha256, arrays


def test_idx_directory_round_trip(idx_dir):
    directory, sha256, arrays = idx_dir
    loaded = data.prepare("fashion_mnist", {"source": "file", "path": str(directory), "sha256": sha256}, directory)
    for key in data.ARRAYS:
        np.testing.assert_array_equal(loaded[key], arrays[key])
        assert loaded[key].dtype == np.uint8


def test_idx_file_with_another_checksum_is_refused(idx_dir):
    directory, sha256, _ = idx_dir
    sha256 = dict(sha256, **{"t10k-labels-idx1-ubyte.gz": "1" * 64})
    with pytest.raises(InputError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 [0-9a-f]{64} does not match "
                                         r"data.fashion_mnist.sha256.t10k-labels-idx1-ubyte.gz 1{64}"):
        data.prepare("fashion_mnist", {"source": "file", "path": str(directory), "sha256": sha256}, directory)


def test_damaged_idx_files_name_the_problem():
    good = _idx(np.zeros((3, 2, 2)))
    with pytest.raises(InputError, match="f.idx: 8 data bytes, the header's shape"):
        data.read_idx(good[:-4], "f.idx")
    with pytest.raises(InputError, match="f.idx: not an IDX file of unsigned bytes"):
        data.read_idx(b"\x00\x00\x0d\x03" + good[4:], "f.idx")  # 0x0d: float32 elements


def test_missing_idx_file_lists_the_four_names(idx_dir):
    directory, sha256, _ = idx_dir
    (directory / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(InputError, match="train-labels-idx1-ubyte.gz: cannot read .*expected the four IDX files"):
        data.prepare("fashion_mnist", {"source": "file", "path": str(directory), "sha256": sha256}, directory)


def test_registry_refuses_unknown_dataset_and_foreign_source(tmp_path):
    with pytest.raises(InputError, match="unknown dataset 'cifar10'; expected one of mnist, fashion_mnist"):
        data.dataset("cifar10")
    with pytest.raises(InputError, match="data.mnist.source: 'debian' is not a source of MNIST; expected one of"):
        data.prepare("mnist", {"source": "debian"}, tmp_path)
    assert set(data.SOURCES) >= {s for entry in data.DATASETS.values() for s in entry.sources}


def test_fashion_mnist_from_debian_package(tmp_path):
    """The default Fashion-MNIST source for real: Debian's package, checksums from the config schema."""
    import yaml

    schema = yaml.safe_load(open(__import__("pathlib").Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml"))
    section = schema["properties"]["data"]["properties"]["fashion_mnist"]["properties"]
    cfg = {"source": "debian", "debian_package": section["debian_package"]["default"],
           "sha256": {name: spec["default"] for name, spec in section["sha256"]["properties"].items()}}
    arrays = data.prepare("fashion_mnist", cfg, tmp_path)
    # Zalando's published facts: 6,000 training and 1,000 test images of each of the 10 classes,
    # and the first training image is an ankle boot (class 9).
    assert np.bincount(arrays["y_train"]).tolist() == [6000] * 10
    assert np.bincount(arrays["y_test"]).tolist() == [1000] * 10
    assert arrays["y_train"][0] == 9 and arrays["x_train"].max() == 255


def test_missing_debian_tools_say_which_sources_remain(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get here
    with pytest.raises(InputError, match="'apt-get' not found: the source debian needs Debian or Ubuntu; "
                                         "use source keras or file instead"):
        data.extract_debian_package("dataset-fashion-mnist", tmp_path / "scratch")


def test_unknown_debian_package_fails_with_the_command(tmp_path):
    with pytest.raises(InputError, match=r"'apt-get download no-such-package-here' failed \(exit \d+\)"):
        data.extract_debian_package("no-such-package-here", tmp_path)
