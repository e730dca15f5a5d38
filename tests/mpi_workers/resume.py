"""Checkpoints across process counts: ``start PATH`` trains one epoch and rank 0 saves the model
(ModelCheckpoint); ``resume PATH OUT`` loads it, trains one more epoch and rank 0 writes the weights."""

from __future__ import annotations

import sys

import numpy as np
from models import build  # noqa: I001

import sinapse
from sinapse import distributed as dist

dist.init()
phase, path = sys.argv[1], sys.argv[2]
sinapse.utils.set_random_seed(7)
model, x, y, kwargs = build("convnet")
if phase == "start":
    model.compile(
        sinapse.optimizers.SGD(0.05, momentum=0.9), distribute=dist.DataParallel(sync_batch_norm=True), **kwargs
    )
    model.fit(x, y, batch_size=30, epochs=1, verbose=0, callbacks=[sinapse.callbacks.ModelCheckpoint(path)])
else:
    model = sinapse.models.load_model(path)
    model.compile(model.optimizer, distribute=dist.DataParallel(sync_batch_norm=True), **kwargs)
    model.fit(x, y, batch_size=30, epochs=2, initial_epoch=1, verbose=0)
    if dist.is_main():
        np.savez(sys.argv[3], *[sinapse.devices.to_numpy(w.value) for w in model.weights])
