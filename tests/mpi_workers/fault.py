"""A training job in which rank 1 fails: ``raise`` (an exception at step 3), ``exit`` (the process
dies at step 3 without a word) or ``hang`` (it stops taking part: sleeps in a callback)."""

from __future__ import annotations

import os
import sys
import time

import numpy as np

import sinapse
from sinapse import distributed as dist

mode = sys.argv[1]
dist.init()


class Fail(sinapse.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if dist.rank() == 1 and batch == 3:
            if mode == "raise":
                raise RuntimeError("rank 1 failed on purpose at step 3")
            if mode == "exit":
                os._exit(3)
            if mode == "hang":
                time.sleep(3600)


x = np.random.default_rng(0).normal(size=(640, 8)).astype(np.float32)
model = sinapse.Sequential([sinapse.layers.Input((8,)), sinapse.layers.Dense(4)])
model.compile("sgd", "mse", distribute="mpi")
model.fit(x, x[:, :4], batch_size=32, epochs=50, verbose=0, callbacks=[Fail()])
print("finished", flush=True)
