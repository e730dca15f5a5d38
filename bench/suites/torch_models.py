"""The seed models and their training recipes in PyTorch: the reference side of the end-to-end
benchmarks (docs/seed_models.md is the specification; this file follows it layer by layer).

Not a suite itself (no run()): the suites and examples call it.

    step = torch_train_step("keras_mnist_cnn", batch=128, channels_last=True)
    step()                     # one forward, loss, backward and optimizer step on synthetic data
    infer = torch_inference("keras_mnist_cnn", batch=1)
    infer()                    # one predict() call: softmax probabilities, no autograd
    train_to_accuracy("keras_mnist_cnn")   # the seed recipe on Fashion-MNIST, timed per epoch

Keras equivalence where it changes the work or the result:
- Kernels glorot_uniform, biases zero (Keras's defaults; torch.nn uses kaiming-uniform for both).
  torch's xavier_uniform_ computes the same fans as Keras for Linear (out, in) and Conv2d
  (out, in, kh, kw) weights. LSTM as Keras: input kernel glorot_uniform, recurrent kernel
  orthogonal, bias zero except the forget gate's 1 (unit_forget_bias); torch's second bias
  (bias_hh) is kept at zero, so it changes nothing but the parameter count.
- Keras Adam: lr 1e-3, betas 0.9/0.999, epsilon 1e-7 (torch's default is 1e-8). Keras adds
  epsilon to sqrt(v) before the bias correction of v, torch after, so the same 1e-7 is a
  1/sqrt(1 - 0.999^t) times larger epsilon in Keras (31.6x at step 1, 1.6x after the convnet's
  first epoch, 422 steps; under 1.03x after 3,000 steps). make_optimizer sets torch's eps to
  1e-7 / sqrt(1 - beta_2^t) before every step (keras_epsilon), which is Keras's update exactly:
  with the same weights and batches (dropout off) the two libraries' losses then agree to
  float32 round-off (~1e-7) for the first steps, against 3e-5 at step 2 with a fixed eps
  (tools/recipe_equivalence.py).
- Keras SGD ("sgd"): lr 0.01, no momentum.
- Keras BatchNormalization would be torch momentum=0.01, eps=1e-3; no seed model has one.
- Softmax + cross-entropy: Keras computes categorical cross-entropy on a softmax output from
  its logits; here the model returns logits and F.cross_entropy fuses the two, the same work.
- Images are NCHW tensors (channels_last=True: NCHW shape in channels-last memory, which is
  NHWC, sinapse's layout); the Keras models take NHWC. Flatten orders differ (CHW vs HWC),
  which does not matter for models trained from scratch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

MODELS = ("mlp", "keras_mnist_cnn", "lenet5", "geron_cnn", "alexnet", "char_lstm")
IMAGE_MODELS = ("keras_mnist_cnn", "lenet5", "geron_cnn", "alexnet")  # where channels_last applies
CHAR_VOCAB = 76  # distinct characters of /usr/share/common-licenses/GPL-3, the char-LSTM's text
CHAR_SEQ = 100
CHAR_HIDDEN = 256


@dataclass(frozen=True)
class Recipe:
    """How docs/seed_models.md trains a model (see there for the seed each value comes from)."""

    optimizer: str  # "sgd" | "adam"
    lr: float
    batch_size: int  # for training to accuracy
    epochs: int
    validation: str  # "first_5000": validation_data = first 5000 training images; "split_0.1": validation_split
    target: float | None  # test accuracy on Fashion-MNIST the issue asks for
    momentum: float = 0.0
    bench_batch: int = 128  # batch of the training-step benchmark


RECIPES = {
    "mlp": Recipe("sgd", 0.01, 32, 30, "first_5000", 0.88),
    "keras_mnist_cnn": Recipe("adam", 1e-3, 128, 15, "split_0.1", 0.91),
    "lenet5": Recipe("adam", 1e-3, 128, 15, "split_0.1", 0.89),
    "geron_cnn": Recipe("adam", 1e-3, 128, 10, "first_5000", 0.92),
    "alexnet": Recipe("sgd", 0.01, 128, 90, "none", None, momentum=0.9, bench_batch=32),
    "char_lstm": Recipe("adam", 1e-3, 64, 10, "none", None, bench_batch=64),
}

# Input of one sample as the Keras model takes it (NHWC for images; one-hot sequence for the LSTM).
INPUT_SHAPES = {
    "mlp": (28, 28),
    "keras_mnist_cnn": (28, 28, 1),
    "lenet5": (28, 28, 1),
    "geron_cnn": (28, 28, 1),
    "alexnet": (227, 227, 3),
    "char_lstm": (CHAR_SEQ, CHAR_VOCAB),
}
NUM_CLASSES = {"alexnet": 1000, "char_lstm": CHAR_VOCAB}


def _torch():
    import torch  # imported here so that this module (and bench) loads without PyTorch

    return torch


def build_model(name: str):
    """The untrained model, Keras-initialised, in train mode; returns logits."""
    torch = _torch()
    nn = torch.nn
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    if name == "mlp":
        model = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10)
        )
    elif name == "keras_mnist_cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(5 * 5 * 64, 10),
        )
    elif name == "lenet5":
        model = nn.Sequential(
            nn.ZeroPad2d(2),
            nn.Conv2d(1, 6, 5),
            nn.Tanh(),
            nn.AvgPool2d(2),
            nn.Tanh(),
            nn.Conv2d(6, 16, 5),
            nn.Tanh(),
            nn.AvgPool2d(2),
            nn.Tanh(),
            nn.Conv2d(16, 120, 5),
            nn.Tanh(),
            nn.Flatten(),
            nn.Linear(120, 84),
            nn.Tanh(),
            nn.Linear(84, 10),
        )
    elif name == "geron_cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 64, 7, padding=3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(128, 128, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(128, 256, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(3 * 3 * 256, 128),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(128, 64),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(64, 10),
        )
    elif name == "alexnet":
        model = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Flatten(),
            nn.Linear(6 * 6 * 256, 4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(4096, 1000),
        )
    else:
        model = _CharLSTM(nn)
    _keras_init(torch, model)
    return model.train()


def _CharLSTM(nn):
    """LSTM(256, return_sequences=True) on one-hot characters, then Dense(vocab) at every step."""

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(CHAR_VOCAB, CHAR_HIDDEN, batch_first=True)
            self.dense = nn.Linear(CHAR_HIDDEN, CHAR_VOCAB)

        def forward(self, x):  # (N, T, vocab) -> logits (N, T, vocab)
            return self.dense(self.lstm(x)[0])

    return CharLSTM()


def _keras_init(torch, model) -> None:
    nn = torch.nn
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:  # the application twins' BN-followed convs have none
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LSTM):
                h = m.hidden_size
                nn.init.xavier_uniform_(m.weight_ih_l0)  # (4h, in): fans in, 4h as Keras's (in, 4h) kernel
                nn.init.orthogonal_(m.weight_hh_l0)
                nn.init.zeros_(m.bias_ih_l0)
                nn.init.zeros_(m.bias_hh_l0)
                m.bias_ih_l0[h : 2 * h] = 1.0  # gate order i, f, g, o in both libraries


def keras_param_count(model) -> int:
    """Parameters as Keras counts them (an LSTM has one bias vector, torch two)."""
    extra = sum(m.bias_hh_l0.numel() for m in model.modules() if isinstance(m, _torch().nn.LSTM))
    return sum(p.numel() for p in model.parameters()) - extra


def make_optimizer(name: str, model):
    torch = _torch()
    r = RECIPES[name]
    if r.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=r.lr, momentum=r.momentum)
    return keras_epsilon(torch.optim.Adam(model.parameters(), lr=r.lr, betas=(0.9, 0.999), eps=1e-7))


def keras_epsilon(opt):
    """``opt`` (a torch.optim.Adam) made to step as Keras's Adam, and returned.

    Keras (keras/src/optimizers/adam.py): w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
    torch: w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). They are equal when
    torch's eps is eps_keras / sqrt(1 - b2^t), which a step pre-hook sets before each step
    (t counts the optimizer's steps, as Keras's iterations + 1).
    """
    keras_eps = [group["eps"] for group in opt.param_groups]
    steps = [0]

    def before_step(optimizer, args, kwargs):
        steps[0] += 1
        for group, eps in zip(optimizer.param_groups, keras_eps):
            group["eps"] = eps / (1.0 - group["betas"][1] ** steps[0]) ** 0.5

    opt.register_step_pre_hook(before_step)
    return opt


def _check(name: str, channels_last: bool) -> None:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    if channels_last and name not in IMAGE_MODELS:
        raise ValueError(f"channels_last applies to image models ({', '.join(IMAGE_MODELS)}), not {name!r}")


def synthetic_batch(name: str, batch: int, channels_last: bool = False, seed: int = 0):
    """(x, labels) tensors for one step: N(0,1) images in NCHW, or one-hot characters; random labels."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    classes = NUM_CLASSES.get(name, 10)
    if name == "char_lstm":
        chars = rng.integers(0, CHAR_VOCAB, (batch, CHAR_SEQ + 1))
        x = torch.from_numpy(np.eye(CHAR_VOCAB, dtype=np.float32)[chars[:, :-1]])
        return x, torch.from_numpy(chars[:, 1:].astype(np.int64))  # next character at every step
    shape = INPUT_SHAPES[name]
    h, w, c = shape if len(shape) == 3 else (*shape, 1)
    x = torch.from_numpy(rng.standard_normal((batch, c, h, w), dtype=np.float32))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, torch.from_numpy(rng.integers(0, classes, batch).astype(np.int64))


def _prepare(name: str, channels_last: bool, seed: int = 0):
    torch = _torch()
    torch.manual_seed(seed)  # the initial weights
    model = build_model(name)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def torch_train_step(name: str, batch: int | None = None, channels_last: bool = False) -> Callable[[], object]:
    """A callable doing one training step (forward, loss, backward, optimizer update) of model ``name``.

    batch: default RECIPES[name].bench_batch (128; 64 for char_lstm, 32 for alexnet). Each call
    reuses one synthetic batch. The callable has .model and .optimizer attributes and returns
    the loss tensor.
    """
    _check(name, channels_last)
    model = _prepare(name, channels_last)
    opt = make_optimizer(name, model)
    x, labels = synthetic_batch(name, batch or RECIPES[name].bench_batch, channels_last)
    return make_step(model, opt, x, labels)


def make_step(model, opt, x, labels) -> Callable[[], object]:
    """The training-step callable on one fixed batch: zero_grad, forward, cross-entropy (over every
    position of a sequence output), backward, optimizer step; returns the loss. Has .model, .optimizer."""
    F = _torch().nn.functional

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    step.model, step.optimizer = model, opt
    return step


def torch_inference(name: str, batch: int = 1, channels_last: bool = False) -> Callable[[], object]:
    """A callable doing one predict() of model ``name`` on ``batch`` synthetic samples: softmax probabilities."""
    _check(name, channels_last)
    model = _prepare(name, channels_last).eval()
    x, _ = synthetic_batch(name, batch, channels_last)
    return make_inference(model, x)


def make_inference(model, x) -> Callable[[], object]:
    """The predict() callable on one fixed batch: softmax probabilities, no autograd. Has .model."""
    torch = _torch()

    def infer():
        with torch.inference_mode():
            return torch.softmax(model(x), dim=-1)

    infer.model = model
    return infer


# --------------------------------------------------------------------------- training to accuracy


def fashion_arrays(name: str, data=None):
    """Fashion-MNIST as the recipe splits it: float32 in [0, 1], NCHW; (train, validation, test) pairs."""
    if data is None:
        from sinapse.datasets import fashion_mnist

        data = fashion_mnist.load_data()
    (x, y), (xt, yt) = data
    x = (x.astype(np.float32) / 255.0)[:, None]  # (N, 1, 28, 28)
    xt = (xt.astype(np.float32) / 255.0)[:, None]
    y, yt = y.astype(np.int64), yt.astype(np.int64)
    validation = RECIPES[name].validation
    if validation == "first_5000":  # seed 000: X_valid, X_train = X_train_full[:5000], X_train_full[5000:]
        return (x[5000:], y[5000:]), (x[:5000], y[:5000]), (xt, yt)
    if validation == "split_0.1":  # Keras validation_split: the last 10%, taken before shuffling
        split = int(len(x) * 0.9)
        return (x[:split], y[:split]), (x[split:], y[split:]), (xt, yt)
    raise ValueError(f"{name!r} is not trained on Fashion-MNIST")


def _evaluate(torch, model, x, y, channels_last, batch=1000) -> tuple[float, float]:
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i : i + batch])
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yb = torch.from_numpy(y[i : i + batch])
            logits = model(xb)
            total_loss += float(torch.nn.functional.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(1) == yb).sum())
    model.train()
    return total_loss / len(x), correct / len(x)


def train_to_accuracy(
    name: str = "keras_mnist_cnn",
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    channels_last: bool = False,
    stop_at_target: bool = False,
    seed: int = 0,
    data=None,
    log: Callable[[str], None] = print,
    on_epoch: Callable[[dict], None] | None = None,
) -> dict:
    """Train ``name`` on Fashion-MNIST with its recipe, as Keras fit() would, and time it.

    Each epoch: shuffle the training part, one pass in batches (the last one partial, as Keras),
    then the validation loss/accuracy (part of fit(), so inside the timed training time), then
    the test accuracy, timed apart and excluded from the training time (Keras evaluates the test
    set once at the end; it is measured every epoch here to find when the target is reached).
    ``seed`` fixes the initial weights, the dropout masks and the batch order; ``on_epoch`` gets
    each epoch's history entry as soon as it is measured.
    Returns a dict: history per epoch, train_seconds, epoch_to_target, seconds_to_target.
    """
    torch = _torch()
    recipe = RECIPES[name]
    epochs = epochs or recipe.epochs
    batch_size = batch_size or recipe.batch_size
    (x, y), (xv, yv), (xt, yt) = fashion_arrays(name, data)
    model = _prepare(name, channels_last, seed)  # seed 0: the weights of every earlier measurement
    torch.manual_seed(seed)  # the dropout masks
    opt = make_optimizer(name, model)
    rng = np.random.default_rng(seed)
    F = torch.nn.functional
    history, train_s, reached = [], 0.0, None
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        order = rng.permutation(len(x))
        seen, loss_sum, correct = 0, 0.0, 0
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
        val_loss, val_acc = _evaluate(torch, model, xv, yv, channels_last)
        epoch_s = time.perf_counter() - t0
        train_s += epoch_s
        t1 = time.perf_counter()
        test_loss, test_acc = _evaluate(torch, model, xt, yt, channels_last)
        test_s = time.perf_counter() - t1
        history.append(
            dict(
                epoch=epoch,
                loss=loss_sum / seen,
                accuracy=correct / seen,
                val_loss=val_loss,
                val_accuracy=val_acc,
                test_loss=test_loss,
                test_accuracy=test_acc,
                epoch_seconds=epoch_s,
                train_seconds=train_s,
                test_seconds=test_s,
            )
        )
        log(
            f"epoch {epoch}/{epochs}: loss {loss_sum / seen:.4f} acc {correct / seen:.4f} "
            f"val_loss {val_loss:.4f} val_acc {val_acc:.4f} test_acc {test_acc:.4f} "
            f"{epoch_s:.1f} s (training total {train_s:.1f} s)"
        )
        if on_epoch is not None:
            on_epoch(history[-1])
        if reached is None and recipe.target is not None and test_acc >= recipe.target:
            reached = (epoch, train_s)
            if stop_at_target:
                break
    return dict(
        model=name,
        recipe=recipe,
        history=history,
        train_seconds=train_s,
        epoch_to_target=reached and reached[0],
        seconds_to_target=reached and reached[1],
    )


# --------------------------------------------------------------------------- the char-LSTM on a text

TEXT = "/usr/share/common-licenses/GPL-3"  # Debian ships it on every machine (base-files)


CHAR_STRIDE = 10  # a window starts every 10 characters: 3,505 windows of GPL-3, 55 batches per epoch


def char_windows(text: str, seq: int = CHAR_SEQ, stride: int = CHAR_STRIDE):
    """Vocabulary (sorted characters) and the windows of seq+1 character ids starting every ``stride``
    characters (inputs: the first seq, targets: the last seq, i.e. the next character at every step)."""
    vocab = sorted(set(text))
    ids = np.searchsorted(np.array([ord(c) for c in vocab]), np.array([ord(c) for c in text])).astype(np.int64)
    starts = range(0, len(ids) - seq, stride)
    return vocab, np.stack([ids[i : i + seq + 1] for i in starts])


def unigram_entropy(text: str) -> float:
    """Entropy of the character frequencies, in nats: the loss of a model that ignores context."""
    _, counts = np.unique(np.array(list(text)), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def train_char_lstm(
    path: str = TEXT, *, epochs: int | None = None, seed: int = 0, log: Callable[[str], None] = print
) -> dict:
    """The char-LSTM recipe on a text: per epoch, every window once in shuffled batches of 64.

    Returns the loss per epoch (mean cross-entropy per character, nats), the unigram entropy to
    compare it with, the training time, and 200 characters sampled from the trained model.
    """
    torch = _torch()
    text = open(path, encoding="utf-8").read()
    vocab, windows = char_windows(text)
    if len(vocab) != CHAR_VOCAB:
        raise ValueError(f"{path}: {len(vocab)} distinct characters; the model is built for {CHAR_VOCAB}")
    recipe = RECIPES["char_lstm"]
    torch.manual_seed(seed)
    model = build_model("char_lstm")
    opt = make_optimizer("char_lstm", model)
    eye = np.eye(CHAR_VOCAB, dtype=np.float32)
    rng = np.random.default_rng(seed)
    losses, t0 = [], time.perf_counter()
    for epoch in range(1, (epochs or recipe.epochs) + 1):
        total, count = 0.0, 0
        for batch in np.array_split(rng.permutation(len(windows)), -(-len(windows) // recipe.batch_size)):
            w = windows[batch]
            x, y = torch.from_numpy(eye[w[:, :-1]]), torch.from_numpy(w[:, 1:])
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, CHAR_VOCAB), y.reshape(-1))
            loss.backward()
            opt.step()
            total, count = total + loss.item() * y.numel(), count + y.numel()
        losses.append(total / count)
        log(f"epoch {epoch}: loss {losses[-1]:.3f} nats/char")
    seconds = time.perf_counter() - t0
    return dict(
        losses=losses,
        unigram_entropy=unigram_entropy(text),
        train_seconds=seconds,
        sample=_sample(torch, model, vocab, text[:CHAR_SEQ], 200, rng),
    )


def _sample(torch, model, vocab, prompt: str, n: int, rng) -> str:
    """Continue prompt by n characters drawn from the softmax (temperature 1), re-reading the last window."""
    model.eval()
    eye = np.eye(len(vocab), dtype=np.float32)
    ids = [vocab.index(c) for c in prompt]
    with torch.inference_mode():
        for _ in range(n):
            logits = model(torch.from_numpy(eye[ids[-CHAR_SEQ:]][None]))[0, -1].double()
            ids.append(int(rng.choice(len(vocab), p=torch.softmax(logits, 0).numpy())))
    model.train()
    return "".join(vocab[i] for i in ids[len(prompt) :])
