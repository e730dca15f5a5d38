"""A Dense(4, kernel_constraint=MaxNorm(1.0)) model fitted data-parallel (tests/test_constraints.py).

    mpirun -np N python constraints.py OUT

Each rank saves its kernel after fit as OUT.<rank>.npy: every rank projects its weights after
the same all-reduced update, so all must hold the same kernel, within the constraint.
"""

from __future__ import annotations

import sys

import numpy as np

import sinapse
from sinapse import distributed as dist
from sinapse import layers
from sinapse.constraints import MaxNorm
from sinapse.optimizers import SGD

rng = np.random.default_rng(0)
x = rng.standard_normal((64, 6)).astype(np.float32)
y = (x @ rng.standard_normal((6, 1)) * 4).astype(np.float32)
sinapse.utils.set_random_seed(3)
model = sinapse.Sequential([layers.Input((6,)), layers.Dense(4, kernel_constraint=MaxNorm(1.0)), layers.Dense(1)])
model.compile(SGD(0.05), "mse", distribute="mpi")
model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
np.save(f"{sys.argv[1]}.{dist.rank()}.npy", model.layers[0].kernel.numpy())
