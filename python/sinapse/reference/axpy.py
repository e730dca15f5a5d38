"""Reference axpy."""

import numpy as np


def axpy(alpha, x, y):
    """``alpha * x + y`` in the precision of the inputs."""
    x, y = np.asarray(x), np.asarray(y)
    return np.result_type(x, y).type(alpha) * x + y
