"""A training job in which rank 1 fails. MODE: ``raise`` (an exception in a callback at step 3),
``exit`` (the process dies at step 3 without a word), ``hang`` (it stops taking part: sleeps in
a callback), ``sys_exit`` (sys.exit(3) in a callback), ``interrupt`` (KeyboardInterrupt),
``thread`` (fit runs in a thread and raises), ``after_fit`` (raises after fit while rank 0
evaluates), ``shard`` (each rank passes its own data), ``optimizer`` (rank 1 compiles SGD)."""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np

import sinapse
from sinapse import distributed as dist

mode = sys.argv[1]
dist.init()
failing = dist.rank() == 1


class Fail(sinapse.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if not failing or batch != 3:
            return
        if mode in ("raise", "thread"):
            raise RuntimeError("rank 1 failed on purpose at step 3")
        if mode == "exit":
            os._exit(3)
        if mode == "hang":
            time.sleep(3600)
        if mode == "sys_exit":
            sys.exit(3)
        if mode == "interrupt":
            raise KeyboardInterrupt


x = np.random.default_rng(dist.rank() if mode == "shard" else 0).normal(size=(640, 8)).astype(np.float32)
model = sinapse.Sequential([sinapse.layers.Input((8,)), sinapse.layers.Dense(4)])
model.compile("sgd" if mode == "optimizer" and failing else "adam", "mse", distribute="mpi")


def train():
    model.fit(x, x[:, :4], batch_size=32, epochs=50 if mode != "after_fit" else 1, verbose=0, callbacks=[Fail()])


if mode == "thread":
    worker = threading.Thread(target=train)
    worker.start()
    worker.join()
else:
    train()
if mode == "after_fit":
    if failing:
        raise RuntimeError("rank 1 failed after fit")
    model.evaluate(x, x[:, :4], verbose=0)
print("finished", flush=True)
