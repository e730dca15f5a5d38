"""The character-level LSTM (sinapse.char_model): text, vocabulary, windows, entropy, a short
training run that beats the unigram entropy, sampling, and the CLI entry point."""

import argparse
import math

import numpy as np
import pytest

import sinapse
from sinapse import char_model as cm
from sinapse.models import load_model


def test_vocabulary_windows_and_entropy():
    vocab = cm.Vocabulary("hello")
    assert vocab.chars == ["e", "h", "l", "o"] and len(vocab) == 4
    ids = vocab.encode("hello")
    assert ids.tolist() == [1, 0, 2, 2, 3] and vocab.decode(ids) == "hello"
    assert vocab.one_hot(ids).shape == (5, 4) and vocab.one_hot(ids)[0].tolist() == [0, 1, 0, 0]
    with pytest.raises(ValueError, match="'z' are not in the vocabulary"):
        vocab.encode("hez")
    x, y = cm.windows(np.arange(10), seq_len=3)  # seed 003: each step predicts the next character
    assert x.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and y.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert cm.windows(np.arange(10), seq_len=3, step=2)[0].shape == (4, 3)
    with pytest.raises(ValueError, match="fewer than one window"):
        cm.windows(np.arange(3), seq_len=3)
    assert cm.unigram_entropy("abab") == pytest.approx(math.log(2))
    assert cm.unigram_entropy("hello") == pytest.approx(-(3 * 0.2 * math.log(0.2) + 0.4 * math.log(0.4)))


def test_load_text_and_the_seed_model_shape(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("some text", encoding="utf-8")
    assert cm.load_text(path) == "some text"
    model = cm.build(76)
    assert model.output_shape == (None, 100, 76) and model.count_params() == 360_524  # docs/seed_models.md §7


@pytest.fixture
def text():
    try:
        return cm.load_text()[:2000]
    except FileNotFoundError:
        pytest.skip("no license text in /usr/share/common-licenses")


def test_two_epochs_beat_the_unigram_entropy_and_sampling_works(text):
    sinapse.utils.set_random_seed(0)
    model, vocab, history = cm.train(
        text, epochs=2, hidden=32, seq_len=25, step=5, batch_size=16, optimizer=sinapse.optimizers.Adam(0.02)
    )
    x, y = cm.windows(vocab.encode(text), 25, 5)
    loss = model.evaluate(vocab.one_hot(x), y, verbose=0)
    assert loss < cm.unigram_entropy(text) - 0.1 and history.history["loss"][-1] < history.history["loss"][0]
    rng = np.random.default_rng(0)
    out = cm.sample(model, vocab, text[:7], 40, temperature=0.5, rng=rng)
    assert len(out) == 40 and set(out) <= set(vocab.chars)
    again = cm.sample(model, vocab, text[:7], 40, temperature=0.5, rng=np.random.default_rng(0))
    assert again == out  # the same generator, the same text
    with pytest.raises(ValueError, match="temperature must be positive"):
        cm.sample(model, vocab, "a", 3, temperature=0)


def test_train_cli_prints_loss_sample_and_saves(text, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cm, "SEQ_LEN", 20)  # a tiny run of the real entry point
    monkeypatch.setattr(cm, "HIDDEN", 8)
    args = argparse.Namespace(
        epochs=1, batch_size=32, device="cpu", out=str(tmp_path / "c.safetensors"), seed=1, verbose=0, limit=600
    )
    assert cm.train_cli(args) == 0
    printed = capsys.readouterr().out
    assert "600 characters" in printed and "vs unigram entropy" in printed and "saved" in printed
    assert load_model(tmp_path / "c.safetensors").count_params() > 0
