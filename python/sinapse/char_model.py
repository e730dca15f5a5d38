"""The character-level LSTM: seed 003's "hello" RNN scaled up to a license text the OS ships.

Seed 003 trains an RNN by hand to predict the next letter of "hello". Here the same idea
runs on a real text found offline, /usr/share/common-licenses/GPL-3 (35,149 characters,
76 distinct), with the model of docs/seed_models.md section 7::

    Input (100, 76) one-hot characters
    LSTM(256, return_sequences=True)        -> (None, 100, 256)   340,992 params
    Dense(76, activation="softmax")         -> (None, 100, 76)     19,532 params
    compile(Adam(0.005), "sparse_categorical_crossentropy"); fit(batch_size=64, epochs=20)

Inputs are windows of 100 characters, targets the same windows shifted by one (the next
character at every step). The windows start every 50 characters (701 windows, 11 batches
per epoch) and Adam's learning rate is 0.005: with non-overlapping windows (6 batches per
epoch) and Keras's default 0.001, 20 epochs end at 3.04 nats, hardly below the unigram
entropy (measured; the loss sits on that plateau for the first ~120 steps). The loss is
the mean cross-entropy per character in nats; a model that ignores context cannot beat the
text's unigram entropy (3.17 nats for GPL-3), which is what the loss is compared with.
``python -m sinapse train --model char_lstm`` calls ``train_cli``.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

from . import layers, optimizers, utils
from .models import Sequential

LICENSE_DIR = "/usr/share/common-licenses"
TEXT = os.path.join(LICENSE_DIR, "GPL-3")
SEQ_LEN = 100
STEP = 50  # a window starts every STEP characters
LEARNING_RATE = 0.005
BATCH_SIZE = 64
HIDDEN = 256
EPOCHS = 20
DEFAULT_OUT = "char_lstm_gpl3.safetensors"


def load_text(path=None) -> str:
    """The training text: ``path``, else GPL-3, else the largest other file in /usr/share/common-licenses."""
    if path is not None:
        with open(path, encoding="utf-8") as f:
            return f.read()
    candidates = [TEXT]
    if os.path.isdir(LICENSE_DIR):
        others = [os.path.join(LICENSE_DIR, n) for n in os.listdir(LICENSE_DIR)]
        others = [p for p in others if os.path.isfile(p) and not os.path.islink(p) and p != TEXT]
        candidates += sorted(others, key=os.path.getsize, reverse=True)
    for candidate in candidates:
        try:
            with open(candidate, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            continue
        if len(text) > SEQ_LEN + 1:
            return text
    raise FileNotFoundError(
        f"char_lstm: no text to train on: {TEXT} (Debian/Ubuntu package base-files) and the "
        f"other files of {LICENSE_DIR} are missing or unreadable; pass a UTF-8 text file's path"
    )


class Vocabulary:
    """The distinct characters of a text, sorted; ``encode`` -> int ids, ``decode`` -> str."""

    def __init__(self, text: str):
        if not text:
            raise ValueError("Vocabulary: the text is empty")
        self.chars = sorted(set(text))
        self._index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        unknown = sorted(set(text) - self._index.keys())
        if unknown:
            raise ValueError(
                f"Vocabulary: characters {''.join(unknown)!r} are not in the vocabulary "
                f"({len(self)} characters of the training text)"
            )
        return np.fromiter((self._index[c] for c in text), np.int32, len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def one_hot(self, ids) -> np.ndarray:
        """(..., len(vocab)) float32 one-hot rows: the model's input."""
        return np.eye(len(self), dtype=np.float32)[np.asarray(ids)]


def windows(ids: np.ndarray, seq_len: int = SEQ_LEN, step: int | None = None):
    """Windows of seq_len + 1 ids every ``step`` ids (default seq_len: non-overlapping):
    inputs (n, seq_len) and targets (n, seq_len), the next id at every step."""
    step = seq_len if step is None else step
    starts = np.arange(0, len(ids) - seq_len, step)
    if len(starts) == 0:
        raise ValueError(f"char_lstm: the text has {len(ids)} characters, fewer than one window of {seq_len + 1}")
    w = ids[starts[:, None] + np.arange(seq_len + 1)]
    return w[:, :-1], w[:, 1:]


def unigram_entropy(text: str) -> float:
    """Entropy of the character frequencies in nats: the loss of the best context-free model."""
    _, counts = np.unique(np.frombuffer(text.encode("utf-32-le"), np.uint32), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def build(vocab_size: int, hidden: int = HIDDEN, seq_len: int | None = SEQ_LEN) -> Sequential:
    """(seq_len, vocab) one-hot characters -> LSTM(hidden, return_sequences=True) -> Dense(vocab, softmax)
    at every step. ``seq_len=None`` takes sequences of any length (for sampling)."""
    return Sequential(
        [
            layers.Input(shape=(seq_len, vocab_size)),
            layers.LSTM(hidden, return_sequences=True),
            layers.Dense(vocab_size, activation="softmax"),
        ],
        name="char_lstm",
    )


def _any_length(model) -> Sequential:
    """The model itself if it takes sequences of any length, else a copy (same weights) that does."""
    if model.input_shape[1] is None:
        return model
    clone = Sequential(
        [
            layers.Input(shape=(None, *model.input_shape[2:])),
            *(layers.deserialize(layers.serialize(layer)) for layer in model.layers),
        ]
    )
    clone.set_weights(model.get_weights())
    return clone


def train(
    text: str,
    *,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
    hidden: int = HIDDEN,
    seq_len: int = SEQ_LEN,
    step: int | None = STEP,
    optimizer=None,
    device=None,
    verbose=0,
):
    """Build and fit the model on ``text`` (optimizer default: Adam(LEARNING_RATE));
    returns ``(model, vocab, history)``."""
    vocab = Vocabulary(text)
    x, y = windows(vocab.encode(text), seq_len, step)
    model = build(len(vocab), hidden, seq_len)
    optimizer = optimizers.Adam(LEARNING_RATE) if optimizer is None else optimizer
    model.compile(optimizer, "sparse_categorical_crossentropy", device=device)
    history = model.fit(vocab.one_hot(x), y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    return model, vocab, history


def sample(
    model, vocab: Vocabulary, seed_text: str, length: int, temperature: float = 1.0, rng=None, context: int = SEQ_LEN
) -> str:
    """``length`` characters continuing ``seed_text``, each drawn from the model's softmax over the
    last ``context`` characters, sharpened (temperature < 1) or flattened (> 1): p ** (1 / temperature)."""
    if not seed_text:
        raise ValueError("sample: seed_text must hold at least one character")
    if not isinstance(length, (int, np.integer)) or length < 0:
        raise ValueError(f"sample: length must be a non-negative int, got {length!r}")
    if not temperature > 0:
        raise ValueError(f"sample: temperature must be positive, got {temperature!r}")
    rng = utils.global_rng() if rng is None else rng
    ids = list(vocab.encode(seed_text))
    model = _any_length(model)  # prompts may be shorter than the training windows
    for _ in range(length):
        p = model.predict_on_batch(vocab.one_hot(ids[-context:])[None])[0, -1].astype(np.float64)
        logp = np.log(np.maximum(p, 1e-30)) / temperature
        p = np.exp(logp - logp.max())
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return vocab.decode(ids[len(seed_text) :])


def train_cli(args) -> int:
    """``python -m sinapse train --model char_lstm``: train on GPL-3, print the loss against the
    unigram entropy and a sample, save the model (args: epochs, batch_size, device, out, seed,
    verbose, limit = how many characters of the text to use, None for all)."""
    if getattr(args, "seed", None) is not None:
        utils.set_random_seed(args.seed)
    text = load_text(getattr(args, "text", None))
    if getattr(args, "limit", None):
        text = text[: args.limit]
    epochs = args.epochs or EPOCHS
    batch_size = args.batch_size or BATCH_SIZE
    vocab = Vocabulary(text)
    entropy = unigram_entropy(text)
    step = min(STEP, SEQ_LEN)
    n_windows = len(windows(np.arange(len(text)), SEQ_LEN, step)[0])
    print(
        f"char_lstm: {len(text):,} characters, {len(vocab)} distinct; {n_windows} windows of {SEQ_LEN} "
        f"(+1) characters every {step}, batch {batch_size}, Adam({LEARNING_RATE}), {epochs} epochs, "
        f"device {args.device or 'default'}"
    )
    start = time.perf_counter()
    model, vocab, history = train(
        text,
        epochs=epochs,
        batch_size=batch_size,
        hidden=HIDDEN,
        seq_len=SEQ_LEN,
        step=step,
        device=args.device,
        verbose=args.verbose if args.verbose is not None else "auto",
    )
    seconds = time.perf_counter() - start
    loss = history.history["loss"][-1]
    print(
        f"final loss {loss:.3f} nats/char vs unigram entropy {entropy:.3f} nats/char "
        f"({loss / entropy:.0%} of it; perplexity {math.exp(loss):.1f} vs {math.exp(entropy):.1f}); "
        f"trained in {seconds:.1f} s"
    )
    prompt = text[:SEQ_LEN]
    print(f"sample (temperature 0.8) after {prompt[-40:]!r}:")
    print(sample(model, vocab, prompt, 300, temperature=0.8, context=SEQ_LEN))
    out = args.out or DEFAULT_OUT
    model.save(out)
    print(f"saved {out}")
    return 0
