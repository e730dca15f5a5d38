"""The Keras MNIST convnet (seed 004) trained in PyTorch on Fashion-MNIST with the seed's recipe:
Keras's initialisation (glorot_uniform kernels, zero biases), Keras's Adam (lr 1e-3, epsilon 1e-7
added before the bias correction of v, as Keras does: torch_models.keras_epsilon), batch 128,
validation_split 0.1 (the last 6,000 images), shuffled every epoch, inverted dropout 0.5, up to 15
epochs, 2 threads. Prints each epoch, the test accuracy, and the wall time to reach the target (91%).

    python examples/torch_fashion_convnet.py [--model lenet5] [--epochs N] [--channels-last] [--stop] [--seed S]

The seed fixes the initial weights, the dropout masks and the batch order. The epoch at which 91%
is first reached depends on it (bench/results/time_to_accuracy.md, measured over seeds with
tools/epochs_to_accuracy.py): one seed's epoch count is not a property of either library.

This is the PyTorch side of the time-to-accuracy benchmark; the data comes from sinapse.datasets.
Models and recipes: bench/suites/torch_models.py, specified in docs/seed_models.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")  # before torch starts its thread pool
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for bench


def main(argv=None) -> int:
    from bench.suites import torch_models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="keras_mnist_cnn", choices=["mlp", "keras_mnist_cnn", "lenet5", "geron_cnn"])
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory layout for the CNNs")
    parser.add_argument("--stop", action="store_true", help="stop at the first epoch reaching the target")
    parser.add_argument("--seed", type=int, default=0, help="initial weights, dropout masks, batch order (default 0)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    import sinapse

    recipe = torch_models.RECIPES[args.model]
    print(
        f"{args.model} on Fashion-MNIST: PyTorch {torch.__version__}, {args.threads} threads, "
        f"{sinapse.config().get('cpu_model', platform.processor())}, "
        f"{'channels_last' if args.channels_last else 'NCHW'}, seed {args.seed}; recipe {recipe}"
    )
    result = torch_models.train_to_accuracy(
        args.model, epochs=args.epochs, channels_last=args.channels_last, stop_at_target=args.stop, seed=args.seed
    )
    h = result["history"]
    per_epoch = sorted(e["epoch_seconds"] for e in h)[len(h) // 2]
    print(
        f"final test accuracy {h[-1]['test_accuracy']:.4f} after {len(h)} epochs; "
        f"training {result['train_seconds']:.1f} s, median epoch {per_epoch:.1f} s"
    )
    if result["epoch_to_target"]:
        print(f"time to {recipe.target:.0%}: {result['seconds_to_target']:.1f} s (epoch {result['epoch_to_target']})")
    else:
        print(f"did not reach {recipe.target:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
