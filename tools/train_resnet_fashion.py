"""A small ResNet trained on Fashion-MNIST to >= 93% test accuracy, in sinapse and in PyTorch with
the same recipe; per-epoch time and accuracy, results in bench/results/resnet_fashion.{md,jsonl}.

    python tools/train_resnet_fashion.py --framework sinapse     # one framework per command
    python tools/train_resnet_fashion.py --framework torch
    python tools/train_resnet_fashion.py --framework torch --blocks 1 --widths 16,32,64 --epochs 3 --no-save
    python tools/train_resnet_fashion.py --framework sinapse --limit 2048 --epochs 1   # smoke test

The recipe (the same in both; RECIPE below, found by the search recorded in resnet_fashion.md and
SEARCH_ROWS here: one seed each, on a loaded machine: sinapse 93.15% at epoch 10 (93.02% at 9),
PyTorch 92.82% at 10 with this structure, 93.12% with the earlier twin's (BN on the projection):
at the edge of 93%; 12 epochs or 2 seeds would say more):
- Model: ResNet-14 (2 basic blocks per stage, 16/32/64 filters, 176,266 parameters as Keras
  counts them), He et al.'s CIFAR ResNet on 28x28x1 (bench/suites/torch_apps.cifar_resnet and
  build_sinapse here): 3x3 stem + BN + ReLU, 3 stages of ``blocks`` basic blocks with the given
  widths, stride 2 and a biased 1x1 conv projection (no BN) where the shape changes, global
  average pooling, Dense(10): sinapse.applications.resnet_cifar's structure. Keras
  initialisation (he_normal conv kernels, glorot_uniform Dense, zero biases; BN momentum
  0.99, eps 1e-3) in both.
- Adam (Keras's: epsilon 1e-7 added before v's bias correction; torch via keras_epsilon),
  learning rate a per-step cosine decay from 2e-3 to 0 over all steps (Keras CosineDecay), 10 epochs.
- Batch 128, shuffled each epoch, inputs x / 255, no augmentation (--augment flip / flip+shift
  exist, the same NumPy draws in both), no validation split.
- The test accuracy after each epoch is measured apart from the epoch's training time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench/

RECIPE = dict(widths=(16, 32, 64), blocks=2, epochs=10, batch_size=128, lr=2e-3, augment="", seed=0, target=0.93)
RESULTS = ROOT / "bench" / "results"

# How RECIPE was found: PyTorch runs (tools/train_resnet_fashion.py --framework torch --threads 1
# --no-save ...), nice -n 19 on the shared 2-vCPU machine (4-6 other jobs), so the seconds are
# inflated 1.5-3x; accuracies are the test accuracy after each epoch.
SEARCH = """\
## How the recipe was found (shared, loaded machine; PyTorch on 1 thread unless the row says)

| run | model | schedule | test accuracy by epoch | best | s/epoch (loaded) |
|---|---|---|---|---|---|
{rows}
"""
SEARCH_ROWS = [
    "| t1 | ResNet-8 (16/32/64, 1 block/stage; BN on the projection, glorot kernels), augmentation none | Adam 2e-3, cosine to 0 over 10 epochs, batch 128 | 0.7163, 0.8740, 0.8751, 0.8778, 0.8967, 0.9124, 0.9139, 0.9178, 0.9203, 0.9204 | 0.9204 | 53-218 |",
    "| t2 | ResNet-14 (16/32/64, 2 blocks/stage; BN on the projection, glorot kernels), augmentation none | Adam 2e-3, cosine to 0 over 10 epochs, batch 128 | 0.5835, 0.8864, 0.8299, 0.9091, 0.9072, 0.9173, 0.9236, 0.9258, 0.9310, 0.9312 | 0.9312 | 156-387 |",
    "| t6 | ResNet-8 (16/32/64, 1 block/stage), augmentation flip+shift | Adam 2e-3, cosine to 0 over 10 epochs, batch 128 | 0.7735, 0.8239, 0.8112, 0.8827, 0.7989, 0.8897, 0.8971, 0.9091 (stopped after 8) | 0.9091 | 53-237 |",
    "| t5 | ResNet-14 (16/32/64, 2 blocks/stage), augmentation flip+shift | Adam 2e-3, cosine to 0 over 10 epochs, batch 128 | 0.7887, 0.8275, 0.8784, 0.8995 (stopped after 4) | 0.8995 | 191-338 |",
    "| v2 | RECIPE as committed (sinapse with wt-merge's Add and wt-apps, 1 thread): ResNet-14, resnet_cifar structure, augmentation none | Adam 2e-3, cosine to 0 over 10 epochs, batch 128 | 0.7822, 0.8682, 0.8909, 0.8919, 0.9120, 0.9241, 0.9218, 0.9287, 0.9302, 0.9315 | 0.9315 | 143-319 |",
    "| v1 | RECIPE as committed (PyTorch, 2 threads): ResNet-14, resnet_cifar structure, augmentation none | Adam 2e-3, cosine to 0 over 10 epochs, batch 128 | 0.7619, 0.8911, 0.8928, 0.9071, 0.8939, 0.9243, 0.9212, 0.9266, 0.9270, 0.9282 | 0.9282 | 51-656 |",
    "| t3 | ResNet-8, widths 24/48/96, augmentation none | as above | stopped in epoch 1 (machine too loaded) | - | - |",
    "| t4 | ResNet-20 (16/32/64, 3 blocks/stage), augmentation none | as above | stopped in epoch 1 | - | - |",
]
SEARCH_NOTES = """
Cost measured before the search (1 thread, load average ~3, PyTorch channels_last, batch 128, one train
step): ResNet-8 108 ms (51 s per 469-step epoch), ResNet-20 331 ms (155 s per epoch; ResNet-14, not
measured, lies between); widths
32/64/128 with 1 block 382 ms; channels_last was 1.2-1.3x faster than NCHW for all. ResNet-14 without
augmentation (t2) is the cheapest run that reached 93% (epoch 9: 0.9310, epoch 10: 0.9312); ResNet-8
stays at 92.0%; flips + 2-pixel shifts (t5, t6) had not caught up when stopped to free the machine
(ResNet-8: 0.909 at epoch 8 against 0.918 without; ResNet-14: 0.8995 at epoch 4 against 0.909). t1/t2 ran an earlier twin (BN after the 1x1 projection, glorot_uniform kernels);
RECIPE uses sinapse.applications.resnet_cifar's structure (no BN on the projection, he_normal kernels):
v1/v2 ran it, sinapse reaching 93.15%, PyTorch 92.82% (one seed each; the recipe sits at the edge of 93%).
"""


def cosine_lr(step: int, total_steps: int, lr: float) -> float:
    """Keras CosineDecay(lr, decay_steps=total_steps, alpha=0) at optimizer step ``step`` (0-based)."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))


def load(path=None):
    """Fashion-MNIST as float32 NHWC in [0, 1] and int labels: (x, y), (x_test, y_test)."""
    from sinapse.datasets import fashion_mnist

    (x, y), (xt, yt) = fashion_mnist.load_data(path)
    return ((x[..., None] / np.float32(255)).astype(np.float32), y.astype(np.int64)), (
        (xt[..., None] / np.float32(255)).astype(np.float32),
        yt.astype(np.int64),
    )


def build_sinapse(input_shape=(28, 28, 1), classes=10, widths=(16, 32, 64), blocks=1):
    """The sinapse twin of torch_apps.cifar_resnet (functional API): the layers, names and
    initialisers of sinapse.applications.resnet_cifar, with any stage widths. With widths
    (16, 32, 64) it is ``applications.resnet_cifar(6 * blocks + 2, input_shape=..., classes=...)``."""
    import sinapse
    from sinapse import layers

    def conv_bn(x, filters, stride, name, relu=True):
        x = layers.Conv2D(
            filters, 3, strides=stride, padding="same", kernel_initializer="he_normal", name=name + "_conv"
        )(x)
        x = layers.BatchNormalization(name=name + "_bn")(x)
        return layers.Activation("relu")(x) if relu else x

    inputs = sinapse.Input(shape=input_shape)
    x = conv_bn(inputs, widths[0], 1, "conv1")
    for s, w in enumerate(widths):
        for b in range(blocks):
            p, stride = f"conv{s + 2}_block{b + 1}", 2 if (s > 0 and b == 0) else 1
            shortcut = x
            if stride != 1 or x.shape[-1] != w:
                shortcut = layers.Conv2D(w, 1, strides=stride, kernel_initializer="he_normal", name=p + "_0_conv")(x)
            y = conv_bn(conv_bn(x, w, stride, p + "_1"), w, 1, p + "_2", relu=False)
            x = layers.Activation("relu")(layers.Add()([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return sinapse.Model(inputs, outputs, name="fashion_resnet")


def augment(xb, rng, kind: str):
    """``kind`` "flip": each image mirrored left-right with probability 1/2; "flip+shift": also
    shifted by up to 2 pixels each way (zero padding), both drawn from ``rng`` (NHWC batches; the
    same draws in both frameworks, since the seeds and the call order are the same)."""
    if not kind:
        return xb
    flip = rng.random(len(xb)) < 0.5
    xb = np.where(flip[:, None, None, None], xb[:, :, ::-1], xb)
    if kind == "flip+shift":
        n, h, w, _ = xb.shape
        padded = np.pad(xb, ((0, 0), (2, 2), (2, 2), (0, 0)))
        dy, dx = rng.integers(0, 5, n), rng.integers(0, 5, n)
        rows = dy[:, None] + np.arange(h)
        cols = dx[:, None] + np.arange(w)
        xb = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return np.ascontiguousarray(xb, dtype=np.float32)


def _batches(rng, n, batch_size):
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def train_torch(data, r, threads, log=print):
    import torch

    from bench.suites import torch_apps, torch_models

    torch.set_num_threads(threads)
    torch.manual_seed(r["seed"])
    (x, y), (xt, yt) = data
    xt = np.ascontiguousarray(xt.transpose(0, 3, 1, 2))
    cl = torch.channels_last  # the faster layout here (NCHW shape, NHWC memory)
    model = torch_apps.cifar_resnet((28, 28, 1), 10, r["widths"], r["blocks"]).to(memory_format=cl)
    opt = torch_models.keras_epsilon(torch.optim.Adam(model.parameters(), lr=r["lr"], eps=1e-7))
    steps = math.ceil(len(x) / r["batch_size"]) * r["epochs"]
    rng, step, F = np.random.default_rng(r["seed"]), 0, torch.nn.functional

    def evaluate():
        model.eval()
        with torch.inference_mode():
            pred = [
                model(torch.from_numpy(xt[i : i + 1000]).to(memory_format=cl)).argmax(1)
                for i in range(0, len(xt), 1000)
            ]
        model.train()
        return float((torch.cat(pred).numpy() == yt).mean())

    def epoch():
        nonlocal step
        for idx in _batches(rng, len(x), r["batch_size"]):
            for group in opt.param_groups:
                group["lr"] = cosine_lr(step, steps, r["lr"])
            opt.zero_grad(set_to_none=True)
            xb = torch.from_numpy(augment(x[idx], rng, r["augment"])).permute(0, 3, 1, 2)  # NHWC memory
            loss = F.cross_entropy(model(xb.contiguous(memory_format=cl)), torch.from_numpy(y[idx]))
            loss.backward()
            opt.step()
            step += 1
        return float(loss.detach())

    return _loop(epoch, evaluate, r, log)


def train_sinapse(data, r, threads, log=print):
    import sinapse

    sinapse.set_num_threads(threads)
    sinapse.utils.set_random_seed(r["seed"])
    (x, y), (xt, yt) = data
    model = build_sinapse((28, 28, 1), 10, r["widths"], r["blocks"])
    steps = math.ceil(len(x) / r["batch_size"]) * r["epochs"]
    schedule = sinapse.optimizers.schedules.CosineDecay(r["lr"], steps)
    model.compile(
        optimizer=sinapse.optimizers.Adam(learning_rate=schedule, epsilon=1e-7),
        loss="sparse_categorical_crossentropy",
    )
    rng = np.random.default_rng(r["seed"])
    y32, xt_, yt_ = y.astype(np.int32), xt, yt

    def epoch():
        for idx in _batches(rng, len(x), r["batch_size"]):
            loss = model.train_on_batch(augment(x[idx], rng, r["augment"]), y32[idx])
        return float(np.asarray(loss).ravel()[0])

    def evaluate():
        return float((model.predict(xt_, batch_size=1000, verbose=0).argmax(1) == yt_).mean())

    return _loop(epoch, evaluate, r, log)


def _loop(epoch, evaluate, r, log):
    history, total = [], 0.0
    for e in range(1, r["epochs"] + 1):
        t0 = time.perf_counter()
        loss = epoch()
        dt = time.perf_counter() - t0
        total += dt
        acc = evaluate()
        history.append(dict(epoch=e, loss=loss, test_accuracy=acc, epoch_seconds=dt, train_seconds=total))
        log(
            f"epoch {e}/{r['epochs']}: last-batch loss {loss:.4f}  test acc {acc:.4f}  {dt:.1f} s (total {total:.1f} s)"
        )
    return history


def _cpu() -> str:
    import sinapse

    return sinapse.config()["cpu"]  # as the bench titles name it


def save(framework, r, threads, history):
    """Append the run to resnet_fashion.jsonl and rewrite resnet_fashion.md from every line."""
    reached = next((h for h in history if h["test_accuracy"] >= r["target"]), None)
    entry = dict(
        framework=framework,
        recipe={k: list(v) if isinstance(v, tuple) else v for k, v in r.items()},
        threads=threads,
        cpu=_cpu(),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        history=history,
        final_test_accuracy=history[-1]["test_accuracy"],
        best_test_accuracy=max(h["test_accuracy"] for h in history),
        train_seconds=history[-1]["train_seconds"],
        epoch_to_target=reached and reached["epoch"],
        seconds_to_target=reached and reached["train_seconds"],
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "resnet_fashion.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")
    runs = [json.loads(line) for line in open(RESULTS / "resnet_fashion.jsonl") if line.strip()]
    (RESULTS / "resnet_fashion.md").write_text(markdown(runs))
    return entry


def markdown(runs) -> str:
    lines = [
        "# A small ResNet on Fashion-MNIST to 93% — sinapse and PyTorch, the same recipe\n",
        "`python tools/train_resnet_fashion.py --framework sinapse|torch` (tools/train_resnet_fashion.py's "
        "docstring gives the recipe). Epoch time excludes the test evaluation.\n",
        "| framework | date | CPU, threads | model | epochs | train s | final test acc | best | epoch (s) to 93% |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in runs:
        r = e["recipe"]
        to = f"{e['epoch_to_target']} ({e['seconds_to_target']:.0f} s)" if e["epoch_to_target"] else "not reached"
        lines.append(
            f"| {e['framework']} | {e['date']} | {e['cpu']}, {e['threads']} | widths {r['widths']}, "
            f"{r['blocks']} block(s)/stage, Adam {r['lr']:g} cosine, batch {r['batch_size']} | {r['epochs']} | "
            f"{e['train_seconds']:.0f} | {e['final_test_accuracy']:.4f} | {e['best_test_accuracy']:.4f} | {to} |"
        )
    for e in runs:
        lines.append(f"\n{e['framework']} ({e['date']}), per epoch: test accuracy / seconds\n")
        lines.append(", ".join(f"{h['test_accuracy']:.4f} / {h['epoch_seconds']:.0f}" for h in e["history"]))
    lines.append("\n" + SEARCH.format(rows="\n".join(SEARCH_ROWS)) + SEARCH_NOTES)
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--framework", choices=("sinapse", "torch"), required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    p.add_argument("--lr", type=float, default=RECIPE["lr"])
    p.add_argument("--batch-size", type=int, default=RECIPE["batch_size"])
    p.add_argument("--blocks", type=int, default=RECIPE["blocks"])
    p.add_argument("--widths", default=",".join(map(str, RECIPE["widths"])))
    p.add_argument("--seed", type=int, default=RECIPE["seed"])
    p.add_argument("--augment", choices=("", "flip", "flip+shift"), default=RECIPE["augment"])
    p.add_argument("--data", default=os.environ.get("FASHION_MNIST"), help="folder of the IDX files")
    p.add_argument("--no-save", action="store_true", help="print only (exploring recipes)")
    p.add_argument(
        "--limit", type=int, default=0, help="train on the first N images only (a smoke test; implies --no-save)"
    )
    a = p.parse_args(argv)
    widths = tuple(int(w) for w in a.widths.split(","))
    if len(widths) != 3:
        p.error(f"--widths: three stage widths, got {a.widths!r}")
    r = dict(RECIPE, widths=widths, blocks=a.blocks, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed)
    r["augment"] = a.augment
    print(f"{a.framework}, {a.threads} threads, recipe {r}", flush=True)
    train = train_torch if a.framework == "torch" else train_sinapse
    (x, y), test = load(a.data)
    if a.limit:
        x, y, a.no_save = x[: a.limit], y[: a.limit], True
    history = train(((x, y), test), r, a.threads, log=lambda s: print(s, flush=True))
    if not a.no_save:
        e = save(a.framework, r, a.threads, history)
        print(
            f"final {e['final_test_accuracy']:.4f}, 93% at epoch {e['epoch_to_target']}; {RESULTS / 'resnet_fashion.md'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
