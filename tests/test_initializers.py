"""Initializer arguments are checked at construction, shapes are bounded before allocating,
and configs with unknown keys name the class and the key."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sinapse import initializers as I

NAN, INF = float("nan"), float("inf")

BAD_ARGUMENTS = [
    (lambda: I.RandomNormal(stddev=NAN), ValueError, r"^RandomNormal: `stddev` must be a finite number, got nan"),
    (lambda: I.RandomNormal(mean=INF), ValueError, r"^RandomNormal: `mean` must be a finite number"),
    (lambda: I.TruncatedNormal(stddev=-INF), ValueError, r"^TruncatedNormal: `stddev` must be a finite"),
    (lambda: I.RandomUniform(minval=NAN), ValueError, r"^RandomUniform: `minval` must be a finite number"),
    (lambda: I.RandomUniform(maxval=INF), ValueError, r"^RandomUniform: `maxval` must be a finite number"),
    (lambda: I.Orthogonal(gain=INF), ValueError, r"^Orthogonal: `gain` must be a finite number, got inf"),
    (lambda: I.Identity(gain=NAN), ValueError, r"^Identity: `gain` must be a finite number, got nan"),
    (lambda: I.Constant(NAN), ValueError, r"^Constant: `value` must be a finite number"),
    (lambda: I.VarianceScaling(scale=NAN), ValueError, r"^VarianceScaling: `scale` must be a finite number"),
    (lambda: I.RandomNormal(stddev=-1), ValueError, r"^RandomNormal: `stddev` must be >= 0.0, got -1"),
    (lambda: I.TruncatedNormal(stddev=-0.5), ValueError, r"^TruncatedNormal: `stddev` must be >= 0.0"),
    (lambda: I.VarianceScaling(scale=0), ValueError, r"^VarianceScaling: `scale` must be > 0.0, got 0"),
    (lambda: I.RandomUniform(minval=1, maxval=0), ValueError, r"^RandomUniform: `minval` must be <= `maxval`"),
    (lambda: I.RandomUniform(-3e38, 3e38), ValueError, r"^RandomUniform: `maxval` - `minval` must fit float32"),
    (lambda: I.Constant("1"), TypeError, r"^Constant: `value` must be a real number, got '1'"),
    (lambda: I.Constant([1, 2]), TypeError, r"^Constant: `value` must be a real number, got \[1, 2\]"),
    (lambda: I.Constant(True), TypeError, r"^Constant: `value` must be a real number, got True"),
    (lambda: I.RandomNormal(stddev="0.1"), TypeError, r"^RandomNormal: `stddev` must be a real number"),
    (lambda: I.GlorotUniform(seed=-1), ValueError, r"^GlorotUniform: `seed` must be an int seed in \[0, 2\*\*63"),
    (lambda: I.HeNormal(seed=2**63), ValueError, r"^HeNormal: `seed` must be an int seed"),
    (lambda: I.GlorotUniform(seed=1.5), TypeError, r"^GlorotUniform: `seed` must be an int seed.*got 1\.5"),
    (lambda: I.RandomNormal(seed="1"), TypeError, r"^RandomNormal: `seed` must be an int seed"),
    (lambda: I.Orthogonal(seed=True), TypeError, r"^Orthogonal: `seed` must be an int seed"),
    (lambda: I.VarianceScaling(mode="fan"), ValueError, r"^VarianceScaling: `mode` must be 'fan_in'"),
    (lambda: I.VarianceScaling(distribution="x"), ValueError, r"^VarianceScaling: `distribution` must be"),
]


@pytest.mark.parametrize("make, err, message", BAD_ARGUMENTS)
def test_bad_arguments_are_refused_at_construction(make, err, message):
    with pytest.raises(err, match=message):
        make()


@pytest.mark.parametrize(
    "config, message",
    [
        ({"class_name": "Zeros", "config": {"x": 1}}, r"^Zeros\.from_config: unknown argument `x`"),
        (
            {"class_name": "RandomNormal", "config": {"stdev": 1}},
            r"^RandomNormal\.from_config: unknown argument `stdev`",
        ),
        (
            {"class_name": "GlorotUniform", "config": {"scale": 2}},
            r"^GlorotUniform\.from_config: unknown argument `scale`",
        ),
        ({"class_name": "Ones", "config": [1]}, r"^Ones\.from_config: `config` must be a dict"),
    ],
)
def test_configs_with_unknown_keys_name_the_class_and_the_key(config, message):
    with pytest.raises(TypeError, match=message):
        I.get(config)


def test_get_errors_name_get():
    with pytest.raises(ValueError, match=r"^initializers\.get: unknown initializer class_name 'Nope'"):
        I.get({"class_name": "Nope"})
    with pytest.raises(ValueError, match=r"^initializers\.get: unknown initializer class_name \[1\]"):
        I.get({"class_name": [1]})
    with pytest.raises(TypeError, match=r"^initializers\.get: cannot interpret 5"):
        I.get(5)


@pytest.mark.parametrize(
    "init",
    [
        I.Zeros(),
        I.Ones(),
        I.Constant(1),
        I.RandomNormal(),
        I.RandomUniform(),
        I.TruncatedNormal(),
        I.GlorotUniform(),
        I.HeNormal(),
        I.Orthogonal(),
        I.Identity(),
    ],
)
def test_huge_shapes_are_refused_before_allocating(init):
    with pytest.raises(MemoryError, match=rf"^{type(init).__name__}: the .* needs .* more than the"):
        init((2**20, 2**30))


def test_orthogonal_bounds_its_float64_work_arrays(monkeypatch):
    # (1, 2**31): 16 GiB per float64 array; refused on any machine with less than 3 x that
    from sinapse.layers import _limits

    monkeypatch.setattr(_limits, "memory_bytes", lambda device: 40 * 2**30)
    with pytest.raises(
        MemoryError,
        match=r"^Orthogonal: the work arrays \(3 of this shape\) of shape "
        r"\(3, 1, 2147483648\) needs 48 GiB",
    ):
        I.Orthogonal()((1, 2**31))


@pytest.mark.parametrize(
    "shape, err",
    [(5, TypeError), ((2.5,), TypeError), (("3",), TypeError), ((-1, 3), ValueError), ((True, 2), TypeError)],
)
def test_bad_shapes_are_refused(shape, err):
    with pytest.raises(err, match=r"^GlorotUniform: `shape` must be a tuple of non-negative ints"):
        I.GlorotUniform()(shape)


def test_valid_arguments_still_work_and_round_trip():
    assert I.RandomUniform(minval=0.5, maxval=0.5, seed=np.int64(3))((3,)).tolist() == [0.5] * 3
    assert np.all(I.RandomNormal(stddev=0, mean=2)((2, 2)) == 2)
    np.testing.assert_array_equal(I.Constant(np.float32(2.5))((2,)), [2.5, 2.5])
    q = I.Orthogonal(gain=-2, seed=0)((4, 4))
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-5)
    assert I.Zeros()((0, 3)).shape == (0, 3)
    for init in (I.RandomNormal(mean=1, stddev=0.5, seed=7), I.VarianceScaling(2.0, "fan_out", "uniform", 1)):
        again = I.get({"class_name": type(init).__name__, "config": init.get_config()})
        np.testing.assert_array_equal(again((3, 3)), init((3, 3)))
    assert math.isfinite(float(I.GlorotUniform(seed=2**63 - 1)((2, 2)).sum()))
