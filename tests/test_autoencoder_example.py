"""examples/autoencoder_fashion.py --quick on a tiny Fashion-MNIST-shaped folder: it runs end to
end (autoencoder, codes, PCA baseline, few-label pre-training) and reports sane numbers."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from test_datasets import write_mnist_folder

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "autoencoder_fashion.py"


def _example():
    if not EXAMPLE.exists():
        pytest.skip("the examples are not here (tests run outside the repository)")
    spec = importlib.util.spec_from_file_location("autoencoder_fashion", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run(tmp_path, rng):
    folder = tmp_path / "fashion"
    write_mnist_folder(folder, rng, n_train=96, n_test=32)
    png = tmp_path / "recon.png"
    try:
        import matplotlib  # noqa: F401

        extra = ["--png", str(png)]
    except ImportError:
        extra = []
    result = _example().main(["--quick", "--data", str(folder), *extra])
    assert result["train_images"] == 96 and result["labels"] == 100
    assert 0.0 < result["test_mse"] < 1.0 and 0.0 < result["pca_test_mse"] < 1.0
    for key in ("code_classifier_accuracy", "pca_code_classifier_accuracy"):
        assert 0.0 <= result[key] <= 1.0
    assert len(result["pretrained_accuracy"]) == len(result["scratch_accuracy"]) == 1
    assert np.isfinite(result["autoencoder_train_loss"]).all()
    if extra:
        assert png.read_bytes().startswith(b"\x89PNG")


def test_pretrained_classifier_starts_from_the_encoder(rng):
    """The classifier's first layers carry the trained encoder's weights; from scratch they do not."""
    ex = _example()
    x = rng.random((16, 28, 28, 1), dtype=np.float32)
    _, encoder, _, _ = ex.train_autoencoder(x, 1, seed=0)
    pre, scratch = ex.classifier(encoder), ex.classifier(None)
    enc = [w for lay in encoder.layers for w in lay.get_weights()]
    np.testing.assert_array_equal(
        np.concatenate([w.ravel() for w in pre.get_weights()[: len(enc)]]), np.concatenate([w.ravel() for w in enc])
    )
    assert not np.array_equal(scratch.get_weights()[0], enc[0])
