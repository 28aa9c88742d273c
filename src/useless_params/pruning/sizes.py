"""What a pruned network costs: nonzero parameters, dense HDF5 bytes, a sparse export, and the
FLOPs of its forward pass with the theoretical speedup (ShrinkBench and Blalock et al. 2020
report it next to the compression ratio)."""

from __future__ import annotations

import gzip
import json
import io

import numpy as np

from ..model import Architecture, Network


def nonzero_parameters(network: Network) -> int:
    return int(sum(np.count_nonzero(k) for k in network.kernels) + sum(np.count_nonzero(b) for b in network.biases))


def dense_hdf5_bytes(network: Network) -> int:
    """Bytes of the network's parameters as one uncompressed HDF5 file (float32, one dataset each)."""
    import h5py  # here: only the size measurement needs it

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        for layer, (kernel, bias) in enumerate(zip(network.kernels, network.biases)):
            h5.create_dataset(f"layer_{layer}/kernel", data=np.asarray(kernel, np.float32))
            h5.create_dataset(f"layer_{layer}/bias", data=np.asarray(bias, np.float32))
    return len(buffer.getvalue())


def sparse_export(network: Network) -> bytes:
    """The network as CSR kernels (int32 indptr/indices, float32 values) plus dense biases, gzipped.

    A kernel of any rank is stored as the matrix (every axis but the last, the last): a conv
    kernel (height, width, in, out) as (height * width * in, out) rows in C order, its shape
    kept beside it so the import restores it exactly."""
    arrays: dict[str, np.ndarray] = {}
    for layer, (kernel, bias) in enumerate(zip(network.kernels, network.biases)):
        kernel = np.asarray(kernel, np.float32)
        arrays[f"l{layer}_shape"] = np.array(kernel.shape, np.int64)
        matrix = kernel.reshape(-1, kernel.shape[-1])
        rows, cols = np.nonzero(matrix)
        arrays[f"l{layer}_indptr"] = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=matrix.shape[0]))]).astype(np.int32)
        arrays[f"l{layer}_indices"] = cols.astype(np.int32)
        arrays[f"l{layer}_values"] = matrix[rows, cols]
        arrays[f"l{layer}_bias"] = np.asarray(bias, np.float32)
    buffer = io.BytesIO()
    # An MLP's export names only its activation (the widths are the kernels'), so the bytes the
    # pruning tables quote stay as they were; any other network carries its layer list.
    header = ({"activation": np.array(network.activation)} if network.architecture.is_mlp
              else {"architecture": np.array(json.dumps(network.architecture.record(), sort_keys=True))})
    np.savez(buffer, n_layers=np.array(network.n_layers), **header, **arrays)
    # mtime=0: the same network gives the same bytes.
    return gzip.compress(buffer.getvalue(), mtime=0)


def sparse_import(blob: bytes) -> Network:
    """Inverse of ``sparse_export``: the dense network."""
    with np.load(io.BytesIO(gzip.decompress(blob)), allow_pickle=False) as npz:
        kernels, biases = [], []
        for layer in range(int(npz["n_layers"])):
            shape = tuple(npz[f"l{layer}_shape"])
            indptr, indices, values = npz[f"l{layer}_indptr"], npz[f"l{layer}_indices"], npz[f"l{layer}_values"]
            matrix = np.zeros((int(np.prod(shape[:-1])), shape[-1]), np.float32)
            rows = np.repeat(np.arange(matrix.shape[0]), np.diff(indptr))
            matrix[rows, indices] = values
            kernels.append(matrix.reshape(shape))
            biases.append(npz[f"l{layer}_bias"].copy())
        if "architecture" in npz:
            return Network(kernels, biases, Architecture.from_record(json.loads(str(npz["architecture"]))))
        return Network.mlp(kernels, biases, str(npz["activation"]))


def size_columns(network: Network, mask_kept: int) -> dict:
    """The size columns of a pruning table for ``network``, which keeps ``mask_kept`` weights."""
    n_weights, n_biases = network.n_weights, network.n_biases
    return {
        "kept_weights": mask_kept, "total_weights": n_weights, "kept_fraction": mask_kept / n_weights,
        "compression_with_biases": (n_weights + n_biases) / (mask_kept + n_biases),
        "kept_fraction_with_biases": (mask_kept + n_biases) / (n_weights + n_biases), "biases_pruned": False,
    }


def storage_columns(network: Network) -> dict:
    """What ``network`` costs to store (nonzero parameters, dense HDF5 and sparse gzip bytes)."""
    return {"nonzero_parameters": nonzero_parameters(network), "dense_hdf5_bytes": dense_hdf5_bytes(network),
            "sparse_gzip_bytes": len(sparse_export(network))}


def forward_flops(network: Network) -> int:
    """FLOPs of one image's forward pass that a sparse implementation cannot skip, counted by the
    layers (``layers.LayerStack.flops``: a multiply and an add per nonzero weight and output
    position, an add per bias and output position). For an MLP the speedup therefore differs
    from the compression ratio only by the biases; for a conv net it does not."""
    return network.architecture.stack.flops([int(np.count_nonzero(k)) for k in network.kernels])


def dense_flops(network: Network) -> int:
    """``forward_flops`` of the same architecture with every weight kept."""
    return network.architecture.stack.flops()


def flops_columns(network: Network) -> dict:
    flops, dense = forward_flops(network), dense_flops(network)
    return {"flops": flops, "dense_flops": dense, "speedup": dense / flops}


def layer_costs(network: Network) -> list[dict]:
    """Per parameterised layer, as Han et al. 2015 Table 3 reports a pruned network: its name, weights
    kept of all, and multiply-adds of one example kept of all (a conv weight costs one per output
    position, so a layer's FLOPs fraction is its kept fraction, but the total's is not)."""
    stack = network.architecture.stack
    nonzero = [int(np.count_nonzero(k)) for k in network.kernels]
    dense, kept = stack.multiply_adds(), stack.multiply_adds(nonzero)
    return [{"layer": name, "weights": int(np.size(k)), "kept_weights": n, "kept_fraction": n / np.size(k),
             "multiply_adds": d, "kept_multiply_adds": m, "multiply_adds_fraction": m / d}
            for name, k, n, d, m in zip(stack.names, network.kernels, nonzero, dense, kept)]
