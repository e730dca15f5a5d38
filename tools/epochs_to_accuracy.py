"""Epochs to 91% test accuracy of the seed convnet on Fashion-MNIST, over several seeds, in
sinapse or in PyTorch (the same recipe: docs/seed_models.md §3, bench/suites/torch_models.py).

Issue 13 asks whether sinapse needing ~4 more epochs than PyTorch (29 vs 25, seed 0) is the
luck of one seed or a recipe difference: only a distribution over seeds answers that.

    python tools/epochs_to_accuracy.py sinapse --seeds 0 1 2 3 4 --log /tmp/tta.jsonl
    python tools/epochs_to_accuracy.py torch   --seeds 0 1 2 3 4 --log /tmp/tta.jsonl
    python tools/epochs_to_accuracy.py summary --log /tmp/tta.jsonl     # the Markdown table

Each run trains up to --max-epochs (default 40) and stops at the first epoch whose test
accuracy is >= --target (0.91); the test set is evaluated after every epoch, outside the
training clock. One JSON line per epoch goes to --log (side, seed, epoch, test accuracy,
epoch seconds), so an interrupted experiment keeps what it measured. The seed fixes the
initial weights, the dropout masks and the shuffling on both sides (with different random
streams: seed s is not the same start in sinapse and in PyTorch). Run it with one thread and
`nice -n 19` on a shared machine; the accuracies do not depend on the load, the seconds do.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository root, for bench.suites.torch_models
MODEL = "keras_mnist_cnn"


def _record(log: Path | None, row: dict) -> None:
    print(json.dumps(row), flush=True)
    if log is not None:
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")


def run_sinapse(seed: int, args, data, log: Path | None) -> None:
    """The recipe as `python -m sinapse train` runs it (applications.RECIPES), tested per epoch."""
    import sinapse
    from sinapse import applications

    (x, y), (xt, yt) = data
    sinapse.utils.set_random_seed(seed)
    recipe = applications.RECIPES[MODEL]
    model = applications.build(MODEL)
    model.compile(**recipe.compile_args())

    class Probe(sinapse.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.start  # steps + validation, as fit() times them
            acc = float(self.model.evaluate(xt, yt, batch_size=1000, verbose=0)[1])
            _record(
                log,
                dict(
                    side="sinapse",
                    seed=seed,
                    epoch=epoch + 1,
                    test_accuracy=acc,
                    val_accuracy=logs.get("val_accuracy"),
                    epoch_seconds=seconds,
                ),
            )
            if acc >= args.target:
                self.model.stop_training = True

    model.fit(
        x,
        y,
        epochs=args.max_epochs,
        batch_size=recipe.batch_size,
        validation_split=recipe.validation_split,
        callbacks=[Probe()],
        verbose=0,
    )


def run_torch(seed: int, args, data, log: Path | None) -> None:
    """torch_models.train_to_accuracy: the same recipe in PyTorch (Keras initialisation and Adam)."""
    from bench.suites import torch_models

    side = "torch"
    if args.torch_epsilon:  # the twin as it stepped before: torch's epsilon placement with Keras's 1e-7
        side, torch_models.keras_epsilon = "torch-eps", lambda opt: opt

    def record(h: dict) -> None:  # one line per epoch as it ends, so an interrupted run keeps it
        _record(
            log,
            dict(
                side=side,
                seed=seed,
                epoch=h["epoch"],
                test_accuracy=h["test_accuracy"],
                val_accuracy=h["val_accuracy"],
                epoch_seconds=h["epoch_seconds"],
            ),
        )

    # stops at the recipe's target (0.91); --target applies to the sinapse side and the summary
    torch_models.train_to_accuracy(
        MODEL,
        epochs=args.max_epochs,
        stop_at_target=True,
        seed=seed,
        data=data,
        channels_last=True,
        log=lambda text: None,
        on_epoch=record,
    )


def _runs(logs: list[Path]) -> dict[tuple[str, int], list[dict]]:
    runs: dict[tuple[str, int], list[dict]] = {}
    for log in logs:
        for line in log.read_text().splitlines():
            row = json.loads(line)
            runs.setdefault((row["side"], row["seed"]), []).append(row)
    for rows in runs.values():
        rows.sort(key=lambda r: r["epoch"])
    return runs


def summary(logs: list[Path], max_epochs: int) -> str:
    """Markdown: per run, the epoch the target was first reached (or how far an unfinished run
    got), test accuracy at epochs 5/10/15/20/25, median epoch seconds; then per side the
    distribution, and the mean test accuracy per epoch over the seeds still running there."""
    runs = _runs(logs)
    marks = (5, 10, 15, 20, 25)
    out = [
        "| side | seed | epochs run | first epoch >= target | "
        + " | ".join(f"acc @{e}" for e in marks)
        + " | best | median epoch s |",
        "|---|---|---|---|" + "---|" * len(marks) + "---|---|",
    ]
    reached: dict[str, list] = {}
    for (side, seed), rows in sorted(runs.items()):
        acc = {r["epoch"]: r["test_accuracy"] for r in rows}
        hit = next((r["epoch"] for r in rows if r["test_accuracy"] >= TARGET), None)
        done = hit is not None or len(rows) >= max_epochs
        reached.setdefault(side, []).append((hit, len(rows), done))
        what = str(hit) if hit else (f"not by {len(rows)}" if done else f"running ({len(rows)} so far)")
        cells = [f"{acc[e]:.4f}" if e in acc else "–" for e in marks]
        secs = statistics.median(r["epoch_seconds"] for r in rows)
        out.append(
            f"| {side} | {seed} | {len(rows)} | {what} | {' | '.join(cells)} | {max(acc.values()):.4f} | {secs:.0f} |"
        )
    out.append("")
    for side, hits in sorted(reached.items()):
        got = sorted(h for h, _, _ in hits if h)
        text = f"- {side}: {len(hits)} seeds; reached at epochs {got}"
        if got:
            text += f" (median {statistics.median(got)}, mean {statistics.mean(got):.1f})"
        lower = sorted(n for h, n, done in hits if not h and done)
        running = sorted(n for h, n, done in hits if not h and not done)
        text += f"; not reached within {lower} epochs" if lower else ""
        out.append(text + (f"; still running at {running} epochs" if running else ""))
    out.append("")
    out.append("Mean test accuracy over the seeds that ran the epoch (n seeds):")
    out.append("")
    out.append("| epoch | " + " | ".join(sorted(reached)) + " |")
    out.append("|---|" + "---|" * len(reached) + "")
    top = max(len(rows) for rows in runs.values())
    for e in range(1, top + 1):
        cells = []
        for side in sorted(reached):
            vals = [r["test_accuracy"] for (sd, _), rows in runs.items() if sd == side for r in rows if r["epoch"] == e]
            cells.append(f"{statistics.mean(vals):.4f} ({len(vals)})" if vals else "–")
        out.append(f"| {e} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


TARGET = 0.91


def main(argv=None) -> int:
    global TARGET
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("side", choices=("sinapse", "torch", "summary"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--target", type=float, default=0.91)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--torch-epsilon",
        action="store_true",
        help="torch side: torch's own Adam epsilon placement (side 'torch-eps'), not Keras's",
    )
    parser.add_argument("--log", type=Path, nargs="+", help="append one JSON line per epoch here (summary: read all)")
    args = parser.parse_args(argv)
    TARGET = args.target
    log = args.log[0] if args.log else None
    if args.side == "summary":
        if args.log is None:
            parser.error("summary needs --log")
        print(summary(args.log, args.max_epochs), end="")
        return 0
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import sinapse
    from sinapse.datasets import fashion_mnist

    if args.side == "sinapse":
        sinapse.set_num_threads(args.threads)
        from sinapse.cli import _image_data

        data = _image_data("fashion_mnist")  # float32 / 255, NHWC, int labels: what the CLI trains on
        for seed in args.seeds:
            run_sinapse(seed, args, data, log)
    else:
        import torch

        torch.set_num_threads(args.threads)
        data = fashion_mnist.load_data()  # torch_models scales and splits it as the recipe says
        for seed in args.seeds:
            run_torch(seed, args, data, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
