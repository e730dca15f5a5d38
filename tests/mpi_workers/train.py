"""Train one of models.build's models (run alone or under mpirun) and save what rank 0 sees.

    python train.py OUT MODEL [--sync-bn] [--epochs E] [--batch B] [--bucket-mb M]

OUT (.npz, written by rank 0): every weight, the History, evaluate's and predict's results, and
``identical``: whether every rank holds bit-identical trainable weights after fit.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from models import build  # noqa: I001  (tests/mpi_workers/models.py, beside this script)

import sinapse
from sinapse import distributed as dist

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("model")
p.add_argument("--sync-bn", action="store_true")
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--bucket-mb", type=float, default=4.0)
p.add_argument("--device", default="cpu")
# Adam's step g / sqrt(v) turns the rounding noise of a gradient that is exactly zero in theory
# (a bias followed by BatchNormalization) into full-size steps: compare with SGD by default.
p.add_argument("--optimizer", default="sgd")
p.add_argument("--generator", action="store_true", help="fit on a generator of global batches")
p.add_argument("--samples", type=int, default=None, help="keep only the first SAMPLES samples")
p.add_argument("--on-batch", action="store_true", help="train_on_batch / test_on_batch on global batches")
p.add_argument("--unsynced", action="store_true", help="each rank starts from its own weights (seed = rank)")
args = p.parse_args()

sinapse.utils.set_random_seed(1234 + (dist.rank() if args.unsynced else 0))
model, x, y, kwargs = build(args.model)
if args.samples is not None:
    x, y = x[: args.samples], [t[: args.samples] for t in y] if isinstance(y, list) else y[: args.samples]
strategy = dist.DataParallel(bucket_cap_mb=args.bucket_mb, sync_batch_norm=args.sync_bn)
optimizer = sinapse.optimizers.Adam(0.01) if args.optimizer == "adam" else sinapse.optimizers.SGD(0.05, momentum=0.9)
model.compile(optimizer, distribute=strategy, device=args.device, **kwargs)
val = (x[:40], [t[:40] for t in y] if isinstance(y, list) else y[:40])
if args.on_batch:  # the batch passed is the global batch: every rank computes its rows of it

    class _History:
        history: dict = {"loss": []}

    history = _History()
    for _epoch in range(args.epochs):
        for i in range(0, len(x), args.batch):
            part = [t[i : i + args.batch] for t in y] if isinstance(y, list) else y[i : i + args.batch]
            logs = model.train_on_batch(x[i : i + args.batch], part, return_dict=True)
        history.history["loss"].append(logs["loss"])
        history.history["test_loss"] = [model.test_on_batch(*val, return_dict=True)["loss"]]
elif args.generator:  # every rank runs the same generator and keeps its rows of each batch

    def batches():
        while True:
            for i in range(0, len(x), args.batch):
                yield (
                    x[i : i + args.batch],
                    [t[i : i + args.batch] for t in y] if isinstance(y, list) else y[i : i + args.batch],
                )

    steps = -(-len(x) // args.batch)
    history = model.fit(batches(), steps_per_epoch=steps, epochs=args.epochs, verbose=0, validation_data=val)
else:
    history = model.fit(x, y, batch_size=args.batch, epochs=args.epochs, verbose=0, validation_data=val)
evaluation = model.evaluate(x, y, batch_size=25, verbose=0, return_dict=True)
pred = model.predict(x, batch_size=19)
pred = pred if isinstance(pred, list) else [pred]

# Every rank must hold the same weights: the same averaged gradients and steps for the trainable
# ones, the moving statistics synchronised (sync_batch_norm) or averaged at the end of each epoch.
identical = True
for w in model.weights:
    v = sinapse.devices.to_numpy(w.value).astype(np.float64)
    identical &= bool(np.array_equal(dist.allreduce(v, "max"), dist.allreduce(v, "min")))

if dist.is_main():
    arrays = {f"w{i}": sinapse.devices.to_numpy(w.value) for i, w in enumerate(model.weights)}
    arrays.update({f"pred{k}": p for k, p in enumerate(pred)})
    meta = {"history": history.history, "evaluate": evaluation, "identical": identical, "size": dist.size()}
    np.savez(args.out, meta=json.dumps(meta), **arrays)
