"""Is sinapse's seed-convnet training step the same computation as the PyTorch twin's?

Copies sinapse's initial weights into the PyTorch model (bench/suites/torch_models.py),
feeds both the same Fashion-MNIST batches in the same order, and compares the loss of every
step and the weights at the end. Dropout is the only random part of a step and the two
libraries draw different masks, so it runs with dropout off (rate 0 on the sinapse layer,
eval-mode Dropout in torch; everything else trains as the recipe says). If the losses agree
to float32 round-off for the first Adam steps, then forward, loss, backward, Adam (its epsilon
placement included) and the initial weights' layout are the same recipe, and any difference
in epochs-to-accuracy comes from the random streams (initial weights, masks, batch order).

    python tools/recipe_equivalence.py [--steps 100] [--threads 1] [--torch-epsilon]

Prints the relative loss differences and the weights' relative difference after the steps;
exits 1 if the first --check-steps (10) losses differ by more than round-off allows (--tol
1e-5). After a few tens of steps any two float32 runs drift apart (a ReLU or a max-pool winner
flips on a last-bit difference), so only the first steps can be held to round-off.
--torch-epsilon steps torch's Adam with its own epsilon placement: it fails the check (3e-5 at
step 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for bench


def sinapse_to_torch(kernels: list[np.ndarray], tmodel, torch) -> None:
    """sinapse (Keras) layout -> torch: conv (KH, KW, C, K) -> (K, C, KH, KW); dense (1600, 10)
    with rows in HWC order -> (10, 1600) in torch's CHW flatten order."""
    k1, b1, k2, b2, kd, bd = kernels
    convs = [m for m in tmodel if isinstance(m, torch.nn.Conv2d)]
    dense = next(m for m in tmodel if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        for conv, k, b in ((convs[0], k1, b1), (convs[1], k2, b2)):
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1))))
            conv.bias.copy_(torch.from_numpy(b))
        hwc = kd.reshape(5, 5, 64, 10)  # Flatten of (5, 5, 64) NHWC rows
        dense.weight.copy_(torch.from_numpy(np.ascontiguousarray(hwc.transpose(3, 2, 0, 1).reshape(10, 1600))))
        dense.bias.copy_(torch.from_numpy(bd))


def compare(steps: int, seed: int = 0, batch: int = 128, keras_epsilon: bool = True) -> dict:
    import torch

    import sinapse
    from bench.suites import torch_models
    from sinapse import applications
    from sinapse.datasets import fashion_mnist

    (x, y), _ = fashion_mnist.load_data()
    x = x[: steps * batch].astype(np.float32) / np.float32(255.0)
    y = y[: steps * batch].astype(np.int32)
    sinapse.utils.set_random_seed(seed)
    smodel = applications.build("keras_mnist_cnn")
    smodel.compile(**applications.RECIPES["keras_mnist_cnn"].compile_args())
    smodel.build((None, 28, 28, 1))
    for layer in smodel.layers:
        if isinstance(layer, sinapse.layers.Dropout):
            layer.rate = 0.0  # the one random part of a step: off on both sides
    tmodel = torch_models.build_model("keras_mnist_cnn")
    sinapse_to_torch(smodel.get_weights(), tmodel, torch)
    for m in tmodel:
        if isinstance(m, torch.nn.Dropout):
            m.eval()
    if keras_epsilon:  # the recipe's Adam: Keras's epsilon placement (torch_models.keras_epsilon)
        opt = torch_models.make_optimizer("keras_mnist_cnn", tmodel)
    else:  # torch's own epsilon placement with Keras's 1e-7, as the twin stepped before
        opt = torch.optim.Adam(tmodel.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    s_losses, t_losses = [], []
    for i in range(steps):
        xb, yb = x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]
        s_losses.append(float(smodel.train_on_batch(xb[..., None], yb)[0]))
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(xb[:, None])), torch.from_numpy(yb).long())
        loss.backward()
        opt.step()
        t_losses.append(float(loss.detach()))
    s_losses, t_losses = np.array(s_losses), np.array(t_losses)
    after = torch_models.build_model("keras_mnist_cnn")
    sinapse_to_torch(smodel.get_weights(), after, torch)
    w_s = torch.cat([p.detach().reshape(-1) for p in after.parameters()]).numpy()
    w_t = torch.cat([p.detach().reshape(-1) for p in tmodel.parameters()]).numpy()
    return dict(
        sinapse_losses=s_losses,
        torch_losses=t_losses,
        loss_rel=np.abs(s_losses - t_losses) / np.abs(t_losses),
        weights_rel=float(np.linalg.norm(w_s - w_t) / np.linalg.norm(w_t)),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--torch-epsilon",
        action="store_true",
        help="torch's Adam with its own epsilon placement instead of Keras's (make_optimizer's)",
    )
    parser.add_argument("--check-steps", type=int, default=10, help="steps that must agree to --tol (default 10)")
    parser.add_argument("--tol", type=float, default=1e-5, help="largest relative loss difference accepted there")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    import sinapse

    torch.set_num_threads(args.threads)
    sinapse.set_num_threads(args.threads)
    r = compare(args.steps, args.seed, keras_epsilon=not args.torch_epsilon)
    rel = r["loss_rel"]
    for i in sorted({0, 1, 2, 9, 49, 99, args.steps - 1}):
        if i < args.steps:
            print(
                f"step {i + 1:4d}: loss sinapse {r['sinapse_losses'][i]:.6f} torch {r['torch_losses'][i]:.6f} "
                f"rel diff {rel[i]:.2e}"
            )
    first = rel[: args.check_steps].max()
    print(
        f"largest relative loss difference: {first:.2e} over the first {args.check_steps} steps (round-off: ~1e-7), "
        f"{rel.max():.2e} over all {args.steps} (step {rel.argmax() + 1}); weights after: relative difference "
        f"{r['weights_rel']:.2e}"
    )
    return 0 if first <= args.tol else 1


if __name__ == "__main__":
    sys.exit(main())
