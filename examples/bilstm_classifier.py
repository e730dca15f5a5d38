"""A Bidirectional LSTM text classifier on offline data: which of two licence texts (two
authors: the FSF's GPL-3 or the ASF's Apache-2.0) a 100-character window comes from, against
unidirectional LSTMs.

Data: /usr/share/common-licenses/GPL-3 (35,149 characters; the text the char-LSTM trains on,
sinapse/char_model.py) and Apache-2.0 (11,358). Both are licences, so the subject is shared and
the model must pick up each author's wording. (GPL-2 vs GPL-3, one author, stayed at chance,
~50% test accuracy, with every model here after 8 epochs: measured, not recorded further.)
Each text is split by position: its first 80% gives the training windows (one every 10
characters), its last 20% the test windows (one every 20), so no test character is seen in
training. The classes are balanced by sampling as many GPL-3 windows as Apache ones.

Models (same embedding and head; Keras's layers)::

    Embedding(vocab, 16) -> LSTM(2H)                          -> Dense(1, sigmoid)   "LSTM 2H"
    Embedding(vocab, 16) -> LSTM(H)                           -> Dense(1, sigmoid)   "LSTM H"
    Embedding(vocab, 16) -> Bidirectional(LSTM(H)) (concat)   -> Dense(1, sigmoid)   "BiLSTM H"

The BiLSTM's output has 2H features like LSTM(2H) (which has more weights) and twice LSTM(H)'s
weights. Adam(0.005), binary cross-entropy, batch 32; test accuracy after the last epoch,
for each of ``--seeds`` seeds.

    python examples/bilstm_classifier.py                   # both tasks, H=32, 10 epochs, 3 seeds -> bench/results/bilstm_classifier.md
    python examples/bilstm_classifier.py --task reversed   # one task only
    python examples/bilstm_classifier.py --quick           # a smoke run: 2 epochs, 1 seed, fewer windows, no file

Task "reversed" (``--task reversed``): is a 100-character window of GPL-3 read backwards? Half of
the windows, picked at random, are reversed; training windows from the first 80% of the text,
test windows from the last 20%.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

import sinapse
from sinapse import layers
from sinapse.char_model import LICENSE_DIR, Vocabulary

SEQ_LEN = 100
OUT = Path(__file__).resolve().parent.parent / "bench" / "results" / "bilstm_classifier.md"


def read(name: str) -> str:
    with open(f"{LICENSE_DIR}/{name}", encoding="utf-8") as f:
        return f.read()


def windows(ids: np.ndarray, step: int) -> np.ndarray:
    starts = np.arange(0, len(ids) - SEQ_LEN + 1, step)
    return ids[starts[:, None] + np.arange(SEQ_LEN)]


def reversed_dataset(rng, quick: bool):
    """Task "reversed": is a GPL-3 window read backwards (label 1) or forwards (0)? Half of the
    windows of each split, picked at random, are reversed."""
    text = read("GPL-3")
    vocab = Vocabulary(text)
    ids = vocab.encode(text) + 1
    cut = int(0.8 * len(ids))
    out = []
    for chunk, step, cap in ((ids[:cut], 20, 400), (ids[cut:], 20, 200)):
        x = windows(chunk, step)
        if quick:
            x = x[rng.choice(len(x), min(cap, len(x)), replace=False)]
        y = (rng.random(len(x)) < 0.5).astype(np.float32)
        x = np.where(y[:, None] > 0, x[:, ::-1], x).astype(np.float32)
        out += [x, y]
    return (*out, len(vocab) + 1)


def dataset(rng, quick: bool):
    """(x_train, y_train, x_test, y_test, vocabulary size): ids as float32, label 1 = GPL-3, 0 = Apache-2.0."""
    texts = [read("Apache-2.0"), read("GPL-3")]
    vocab = Vocabulary("".join(texts))
    parts = {"train": ([], []), "test": ([], [])}
    for label, text in enumerate(texts):
        ids = vocab.encode(text) + 1  # 0 stays free (the Embedding's padding id)
        cut = int(0.8 * len(ids))
        for split, chunk, step in (("train", ids[:cut], 10), ("test", ids[cut:], 20)):
            parts[split][0].append(windows(chunk, step))
            parts[split][1].append(label)
    out = []
    for split in ("train", "test"):
        xs, labels = parts[split]
        n = min(len(x) for x in xs)
        if quick:
            n = min(n, 200 if split == "train" else 100)
        picked = [x[rng.choice(len(x), n, replace=False)] for x in xs]
        x = np.concatenate(picked).astype(np.float32)
        y = np.repeat(np.array(labels, np.float32), n)
        order = rng.permutation(len(x))
        out += [x[order], y[order]]
    return (*out, len(vocab) + 1)


def build(kind: str, vocab: int, hidden: int) -> sinapse.Sequential:
    recurrent = {
        "LSTM 2H": lambda: layers.LSTM(2 * hidden),
        "LSTM H": lambda: layers.LSTM(hidden),
        "BiLSTM H": lambda: layers.Bidirectional(layers.LSTM(hidden)),
    }[kind]()
    return sinapse.Sequential(
        [
            layers.Input((SEQ_LEN,)),
            layers.Embedding(vocab, 16),
            recurrent,
            layers.Dense(1, activation="sigmoid"),
        ]
    )


def run(kind, data, hidden, epochs, seed):
    x, y, xt, yt, vocab = data
    sinapse.utils.set_random_seed(seed)
    model = build(kind, vocab, hidden)
    model.compile(sinapse.optimizers.Adam(0.005), "binary_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0).history
    seconds = time.perf_counter() - start
    test = float(model.evaluate(xt, yt, batch_size=256, verbose=0)[1])
    return {
        "params": model.count_params(),
        "train_acc": history["accuracy"][-1],
        "test_acc": test,
        "seconds": seconds,
    }


SPLITS = {
    "source": "balanced; training windows every 10 characters of the first 80% of each text, test windows every "
    "20 of the last 20%",
    "reversed": "about half reversed; windows every 20 characters, training from the first 80% of GPL-3, test from "
    "the last 20%",
}


def report(results, task, args, data) -> str:
    x, _, xt, _, vocab = data
    title = "GPL-3 or Apache-2.0?" if task == "source" else "is a GPL-3 window reversed?"
    lines = [
        f"## Task {task}: {title} (--task {task})",
        "",
        f"{platform.processor() or platform.machine()}, AMD EPYC Zen 4, 2 vCPUs shared with other jobs "
        f"(times are indicative only); sinapse {sinapse.__version__}, {sinapse.get_num_threads()} thread(s). {len(x)} training and {len(xt)} test "
        f"windows of {SEQ_LEN} characters ({SPLITS[task]}), "
        f"vocabulary {vocab - 1} characters; H = {args.hidden}, {args.epochs} epochs, Adam(0.005), batch 32, "
        f"seeds {', '.join(map(str, range(args.seeds)))}.",
        "",
        "| model | params | test accuracy per seed | mean test accuracy | final train accuracy (mean) | train s (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for kind, runs in results.items():
        accs = [r["test_acc"] for r in runs]
        lines.append(
            f"| {kind} | {runs[0]['params']:,} | {', '.join(f'{a:.4f}' for a in accs)} | {np.mean(accs):.4f} | "
            f"{np.mean([r['train_acc'] for r in runs]):.4f} | {np.mean([r['seconds'] for r in runs]):.1f} |"
        )
    return "\n".join(lines) + "\n"


def run_task(task, args) -> str:
    data = (dataset if task == "source" else reversed_dataset)(np.random.default_rng(0), args.quick)
    results: dict = {}
    for kind in ("LSTM H", "LSTM 2H", "BiLSTM H"):
        results[kind] = [run(kind, data, args.hidden, args.epochs, seed) for seed in range(args.seeds)]
        print(task, kind, [round(r["test_acc"], 4) for r in results[kind]], flush=True)
    return report(results, task, args, data)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs, 1 seed, fewer windows; no result file")
    parser.add_argument(
        "--task",
        choices=["source", "reversed", "both"],
        default="both",
        help="source: GPL-3 or Apache-2.0; reversed: a GPL-3 window read backwards or forwards; both (default)",
    )
    parser.add_argument("--hidden", type=int, default=32, help="H: units per direction (default 32)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: sinapse's setting)")
    parser.add_argument("--out", default=None, help=f"result file (default {OUT}; none with --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.seeds = min(args.epochs, 2), 1
    if args.threads:
        sinapse.set_num_threads(args.threads)
    tasks = ["source", "reversed"] if args.task == "both" else [args.task]
    text = "# Bidirectional LSTM text classifiers (examples/bilstm_classifier.py)\n\n" + "\n".join(
        run_task(task, args) for task in tasks
    )
    print(text)
    out = args.out or (None if args.quick else OUT)
    if out:
        Path(out).write_text(text)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
