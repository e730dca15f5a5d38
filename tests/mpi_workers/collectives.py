"""The process-group API under mpirun: prints one JSON line per rank (the test reads them all)."""

from __future__ import annotations

import json

import numpy as np

from sinapse import distributed as dist

dist.init()
r, n = dist.rank(), dist.size()
out: dict = {"rank": r, "size": n, "local_rank": dist.local_rank(), "is_main": dist.is_main()}
x = np.arange(6, dtype=np.float32).reshape(2, 3) + r
out["sum"] = dist.allreduce(x, "sum").tolist()
out["mean"] = dist.allreduce(x, "mean").tolist()
out["max"] = dist.allreduce(x, "max").tolist()
out["min"] = dist.allreduce(np.array([r], np.int64), "min").tolist()
out["input_unchanged"] = x.tolist() == (np.arange(6).reshape(2, 3) + r).tolist()
b = np.full(4, float(r), np.float64)
returned = dist.broadcast(b, root=n - 1)
out["broadcast"] = b.tolist()
out["broadcast_in_place"] = returned is b
dist.barrier()
try:  # a shape that differs between ranks is refused on every rank, not read past a buffer
    dist.allreduce(np.zeros(2 + r, np.float32), "sum")
    out["mismatch"] = "no error"
except ValueError as e:
    out["mismatch"] = str(e)
try:
    dist.allreduce(x, "prod")
except ValueError as e:
    out["bad_op"] = str(e)
try:
    dist.broadcast(b, root=n)
except ValueError as e:
    out["bad_root"] = str(e)
print(json.dumps(out), flush=True)
