"""sinapse.viz: training curves, feature maps and filters written as PNG files."""

import numpy as np
import pytest

import sinapse
from sinapse import applications

plt = pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def small_cnn(rng):
    model = applications.build("keras_mnist_cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.random((32, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    return model, model.fit(x, y, epochs=2, validation_split=0.25, verbose=0), x


def test_history_curves(small_cnn, tmp_path):
    _, history, _ = small_cnn
    path = sinapse.viz.plot_history(history, tmp_path / "curves.png")
    assert path.read_bytes().startswith(PNG)
    with pytest.raises(ValueError, match="plot_history"):
        sinapse.viz.plot_history({}, tmp_path / "empty.png")


def test_feature_maps_one_file_per_layer(small_cnn, tmp_path):
    model, _, x = small_cnn
    paths = sinapse.viz.plot_feature_maps(model, x[0], tmp_path / "maps")
    assert [p.name for p in paths][:2] == ["00_input.png", f"01_{model.layers[0].name}.png"]
    assert len(paths) == len(model.layers) + 1 and all(p.read_bytes().startswith(PNG) for p in paths)
    with pytest.raises(ValueError, match="a batch of 2"):
        sinapse.viz.plot_feature_maps(model, x[:2], tmp_path / "maps")


def test_first_layer_filters(small_cnn, tmp_path):
    model, _, _ = small_cnn
    assert sinapse.viz.plot_filters(model, tmp_path / "f.png").read_bytes().startswith(PNG)
    dense_only = applications.build("mlp")
    dense_only.build((None, 28, 28, 1))
    with pytest.raises(ValueError, match="no built Conv2D"):
        sinapse.viz.plot_filters(dense_only, tmp_path / "none.png")


def test_reconstructions_two_rows(rng, tmp_path):
    x = rng.random((6, 28, 28, 1), dtype=np.float32)
    path = sinapse.viz.plot_reconstructions(x, x * 0.5, tmp_path / "r.png", title="t")
    assert path.read_bytes().startswith(PNG)
    assert sinapse.viz.plot_reconstructions(x[..., 0], x[..., 0], tmp_path / "g.png").read_bytes().startswith(PNG)
    with pytest.raises(ValueError, match=r"plot_reconstructions: `inputs` \(6, 28, 28, 1\) and `reconstructions`"):
        sinapse.viz.plot_reconstructions(x, x[:3], tmp_path / "bad.png")
    with pytest.raises(ValueError, match=r"plot_reconstructions: `reconstructions` must be images"):
        sinapse.viz.plot_reconstructions(x, x.reshape(6, -1), tmp_path / "bad.png")
