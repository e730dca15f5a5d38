"""Resuming from a checkpoint is bit-identical (issue 11, class 6): N epochs straight vs N/2,
model.save, load_model, N/2 more — with shuffling, Dropout (seeded and unseeded),
BatchNormalization and every optimizer — gives exactly the same weights."""

import numpy as np
import pytest

import sinapse
from keras_helpers import blobs
from sinapse import layers, optimizers
from sinapse.models import Sequential, load_model

EPOCHS = 4


def make_model(dropout_seed, optimizer):
    model = Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(5,)),
            layers.BatchNormalization(),
            layers.Dropout(0.3, seed=dropout_seed),
            layers.Dense(6, activation="tanh"),
            layers.Dropout(0.2),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(tmp_path, dropout_seed, optimizer_factory, resume_at):
    """The weights after EPOCHS epochs of fit(shuffle=True), saved and reloaded after ``resume_at``."""
    sinapse.utils.set_random_seed(11)
    x, y = blobs(40, 5, 3, np.random.default_rng(0))
    model = make_model(dropout_seed, optimizer_factory())
    if resume_at is None:
        model.fit(x, y, epochs=EPOCHS, batch_size=8, shuffle=True, verbose=0)
        return model.get_weights()
    model.fit(x, y, epochs=resume_at, batch_size=8, shuffle=True, verbose=0)
    model.save(tmp_path / "checkpoint")
    sinapse.utils.set_random_seed(999)  # whatever the process does in between must not matter
    resumed = load_model(tmp_path / "checkpoint")
    resumed.fit(x, y, epochs=EPOCHS, initial_epoch=resume_at, batch_size=8, shuffle=True, verbose=0)
    return resumed.get_weights()


OPTIMIZERS = {
    "SGD": lambda: optimizers.SGD(0.05),
    "SGD-nesterov": lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "Adagrad": lambda: optimizers.Adagrad(0.05),
    "Adadelta": lambda: optimizers.Adadelta(1.0),
    "RMSprop-centered": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "Adam-amsgrad": lambda: optimizers.Adam(0.01, amsgrad=True),
    "AdamW": lambda: optimizers.AdamW(0.01),
    "Adam-schedule": lambda: optimizers.Adam(optimizers.schedules.ExponentialDecay(0.01, 3, 0.9)),
}


def test_every_optimizer_class_is_covered():
    names = {n.split("-")[0] for n in OPTIMIZERS}
    assert names == {c for c in optimizers.__all__ if c[0].isupper() and c != "Optimizer"}


@pytest.mark.parametrize("dropout_seed", [7, None], ids=["seeded", "unseeded"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resume_is_bit_identical(tmp_path, name, dropout_seed):
    straight = train(tmp_path, dropout_seed, OPTIMIZERS[name], None)
    resumed = train(tmp_path, dropout_seed, OPTIMIZERS[name], EPOCHS // 2)
    assert len(straight) == len(resumed)
    for a, b in zip(straight, resumed):
        assert np.array_equal(a, b)


def test_resume_at_every_epoch_and_twice(tmp_path):
    """Several save/load cycles in a row (the optimizer state restored but not yet applied is saved again)."""
    straight = train(tmp_path, None, OPTIMIZERS["Adam-amsgrad"], None)
    sinapse.utils.set_random_seed(11)
    x, y = blobs(40, 5, 3, np.random.default_rng(0))
    model = make_model(None, OPTIMIZERS["Adam-amsgrad"]())
    for epoch in range(EPOCHS):
        model.fit(x, y, epochs=epoch + 1, initial_epoch=epoch, batch_size=8, verbose=0)
        model.save(tmp_path / "a")
        model = load_model(tmp_path / "a")
        model.save(tmp_path / "b")  # saved again before any step
        model = load_model(tmp_path / "b")
    for a, b in zip(straight, model.get_weights()):
        assert np.array_equal(a, b)


def test_the_random_state_matters(tmp_path):
    """Without the checkpoint's random state (include_optimizer=False drops it, and the optimizer),
    the continued run differs: the comparison above can fail."""
    sinapse.utils.set_random_seed(11)
    x, y = blobs(40, 5, 3, np.random.default_rng(0))
    model = make_model(7, optimizers.SGD(0.05))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "full")
    rng_state = {k: v for k, v in _tensors(tmp_path / "full").items() if k.startswith("rng/")}
    assert set(rng_state) == {"rng/2/seed", "rng/2/offset", "rng/4/seed", "rng/4/offset", "rng/shuffle"}
    assert int(rng_state["rng/2/seed"]) == 7 and int(rng_state["rng/2/offset"]) > 0
    model.save(tmp_path / "weights_only", include_optimizer=False)
    assert not any(k.startswith("rng/") for k in _tensors(tmp_path / "weights_only"))
    runs = []
    for name in ("full", "weights_only"):
        m = load_model(tmp_path / name)
        m.compile(optimizers.SGD(0.05), "sparse_categorical_crossentropy")
        m.fit(x, y, epochs=1, batch_size=8, verbose=0)
        runs.append(m.get_weights())
    assert not all(np.array_equal(a, b) for a, b in zip(*runs))


def _tensors(path):
    from safetensors.numpy import load_file

    return load_file(str(path))


def test_dropout_rng_state_is_validated():
    layer = layers.Dropout(0.5, seed=3)
    layer.build((4,))
    state = layer.get_rng_state()
    assert state["seed"].dtype == np.uint64 and int(state["seed"]) == 3 and int(state["offset"]) == 0
    for bad in (
        {"seed": state["seed"]},
        {"seed": np.array(1.0), "offset": state["offset"]},
        {"seed": np.array(2**63, np.uint64), "offset": state["offset"]},
        {"seed": np.zeros(2, np.uint64), "offset": state["offset"]},
    ):
        with pytest.raises(ValueError, match="Dropout layer"):
            layer.set_rng_state(bad)
    with pytest.raises(TypeError, match="Dropout: `seed` must be a non-negative integer"):
        layers.Dropout(0.5, seed="7")
