"""Change scale, including the w = 0 rule, and its summaries."""

import numpy as np
import pytest

from useless_params.change_scale import ChangeScales, change_statistics
from useless_params.model import Network


def test_definition_on_ordinary_values():
    s = change_statistics(np.array([2.0, -4.0, 1.0]), np.array([3.0, -2.0, 1.0]))
    np.testing.assert_allclose(s["absolute"], [1.0, 2.0, 0.0])
    np.testing.assert_allclose(s["relative"], [50.0, -50.0, 0.0])
    np.testing.assert_allclose(s["scale"], [50.0, 50.0, 0.0])


def test_zero_reference_rule():
    s = change_statistics(np.array([0.0, 0.0, 0.0]), np.array([0.0, 0.5, -0.25]))
    assert s["scale"][0] == 0 and s["relative"][0] == 0
    assert s["scale"][1] == np.inf and s["relative"][1] == np.inf
    assert s["scale"][2] == np.inf and s["relative"][2] == -np.inf
    for values in s.values():
        assert not np.isnan(values).any()


def _scales():
    before = Network.mlp([np.array([[1.0, 2.0], [4.0, 0.0]], np.float32)], [np.zeros(2, np.float32)], "sigmoid")
    after = Network.mlp([np.array([[1.1, 1.0], [4.0, 0.0]], np.float32)], [np.array([0.5, 0.0], np.float32)], "sigmoid")
    return ChangeScales.between(before, after, 0, 3)


def test_save_load_round_trip(tmp_path):
    scales = _scales()
    scales.save(tmp_path / "cs.h5")
    loaded = ChangeScales.load(tmp_path / "cs.h5")
    assert (loaded.reference_epoch, loaded.final_epoch) == (0, 3)
    np.testing.assert_array_equal(loaded.scale(0, "kernel"), scales.scale(0, "kernel"))
    np.testing.assert_array_equal(loaded.scale(0, "bias"), [np.inf, 0.0])


def test_summary_counts_infinite_and_has_no_nan():
    summary = _scales().summary()
    bias = summary[summary["kind"] == "bias"].iloc[0]
    assert bias["n_infinite"] == 1 and bias["n_reference_zero"] == 2
    assert not summary.isna().any().any()


def test_selected_fractions():
    fractions = _scales().selected_fractions([0, 11, 60])
    layer0 = fractions[fractions["scope"] == "0"].set_index("threshold")
    # kernel scales: ~10 % (float32), 50 %, 0 %, 0 % (w = w' = 0)
    assert layer0.loc[0, "n_selected"] == 2
    assert layer0.loc[11, "n_selected"] == 3
    assert layer0.loc[60, "fraction_selected"] == pytest.approx(1.0)
