"""The cost of the RNN dropout masks (docs/kernels/rnn.md, "Dropout masks in the time loop").

CPU time (ms, median of process_time per call; run with OMP_NUM_THREADS=1, so the figure is
robust to other processes sharing the cores) of simple_rnn / lstm / gru forward and
forward+backward, without masks, or with both dropout masks (per gate block) given "masks":

    OMP_NUM_THREADS=1 python bench/rnn_dropout_cost.py [masks]

Prints one JSON line; run it on two builds to compare them (before/after a change).
"""

import json
import sys
import time

import numpy as np

import sinapse
from sinapse import ops


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return round(1e3 * float(np.median(times)), 3)


def main():
    rng = np.random.default_rng(0)
    with_masks = "masks" in sys.argv
    out = {}
    for cell, g in (("lstm", 4), ("gru", 3), ("simple_rnn", 1)):
        for n, t, d, h, back, reps in ((32, 20, 64, 128, True, 15), (1, 50, 64, 128, False, 200)):
            x = rng.standard_normal((n, t, d)).astype(np.float32)
            k = (rng.standard_normal((d, g * h)) / np.sqrt(d)).astype(np.float32)
            rk = (rng.standard_normal((h, g * h)) / np.sqrt(h)).astype(np.float32)
            b = np.zeros((2, g * h) if cell == "gru" else (g * h,), np.float32)
            op, backward = getattr(ops, cell), getattr(ops, cell + "_backward")
            kw = {}
            if with_masks:
                dm = ((rng.random((n, g, d)) > 0.3) / 0.7).astype(np.float32)
                rdm = ((rng.random((n, g, h)) > 0.3) / 0.7).astype(np.float32)
                kw = {"dropout_mask": dm, "recurrent_dropout_mask": rdm}
            dy = rng.standard_normal((n, t, h)).astype(np.float32)

            def forward(op=op, x=x, k=k, rk=rk, b=b, kw=kw):
                return op(x, k, rk, b, **kw)

            key = f"{cell} {n}x{t}x{d}->{h}"
            out[key + " fwd"] = median_ms(forward, reps)
            if back:
                out[key + " fwd+bwd"] = median_ms(lambda f=forward, bw=backward, dy=dy: bw(dy, f()[-1]), reps)
    print(json.dumps({"file": sinapse.__file__, "masks": with_masks, **out}))


if __name__ == "__main__":
    main()
