"""Selection, shuffle and reset operations."""

import numpy as np

from useless_params.disturb import reset_selected, select, shuffle_selected, uniform_below
from useless_params.seeding import generator, value_label


def test_select_is_c_le_t_and_never_infinite():
    scale = np.array([0.0, 5.0, 5.0000001, np.inf, 10.0])
    np.testing.assert_array_equal(select(scale, 5), [True, True, False, False, False])
    assert not select(np.array([np.inf]), 1e308).any()


def test_shuffle_keeps_multiset_and_leaves_unselected_alone():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 5)), rng.normal(size=8)
    ma, mb = rng.random((6, 5)) < 0.5, rng.random(8) < 0.5
    new_a, new_b = shuffle_selected([a, b], [ma, mb], generator(1, "t"))
    np.testing.assert_array_equal(new_a[~ma], a[~ma])
    np.testing.assert_array_equal(new_b[~mb], b[~mb])
    before = np.sort(np.concatenate([a[ma], b[mb]]))
    after = np.sort(np.concatenate([new_a[ma], new_b[mb]]))
    np.testing.assert_array_equal(before, after)
    assert not np.array_equal(np.concatenate([a[ma], b[mb]]), np.concatenate([new_a[ma], new_b[mb]]))


def test_shuffle_pools_across_arrays():
    a, b = np.zeros(50), np.ones(50)
    new_a, _ = shuffle_selected([a, b], [np.ones(50, bool), np.ones(50, bool)], generator(2, "pool"))
    assert 0 < new_a.sum() < 50  # some of b's values moved into a


def test_reset_stays_in_half_open_interval():
    for upper in (1.0, 99.0, 1e-3):
        values = uniform_below(200_000, upper, generator(3, upper))
        assert values.dtype == np.float32
        assert values.min() >= 0 and values.max() < np.float32(upper)


def test_reset_zero_and_unselected_untouched():
    a = np.arange(10, dtype=np.float32) + 1
    mask = a > 5
    (new,) = reset_selected([a], [mask], 0.0, generator(4, "z"))
    np.testing.assert_array_equal(new[mask], 0)
    np.testing.assert_array_equal(new[~mask], a[~mask])
    (new,) = reset_selected([a], [mask], 2.0, generator(4, "u"))
    assert ((new[mask] >= 0) & (new[mask] < 2)).all()
    np.testing.assert_array_equal(a, np.arange(10, dtype=np.float32) + 1)  # input not modified


def test_generator_depends_only_on_seed_and_identity():
    assert generator(7, "a", 1.0, 3).random() == generator(7, "a", 1, 3).random()
    assert generator(7, "a", 1.0, 3).random() != generator(7, "a", 1.0, 4).random()
    assert generator(7, "a").random() != generator(8, "a").random()
    assert value_label(5.0) == "5" and value_label(2.5) == "2.5"
