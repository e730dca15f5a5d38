"""``python -m sinapse``: train a seed model, evaluate a saved one, show the configuration.

    python -m sinapse train                      # Keras MNIST convnet on Fashion-MNIST, saved to keras_mnist_cnn_fashion_mnist.safetensors
    python -m sinapse train --model lenet5 --epochs 5 --device cpu
    mpirun -np 2 python -m sinapse train --distributed   # data-parallel on 2 processes (docs/distributed.md)
    python -m sinapse evaluate keras_mnist_cnn_fashion_mnist.safetensors
    python -m sinapse info
    python -m sinapse tune --budget 60           # auto-tune the GEMM on this machine, cache the winner

A bad argument or a missing dataset prints one line (``sinapse: error: ...``) and exits
with status 2 (usage) or 1 (anything else), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

MODELS = ("mlp", "keras_mnist_cnn", "lenet5", "geron_cnn", "alexnet", "char_lstm")
DATASETS = ("fashion_mnist", "mnist", "cifar10")


class CliError(Exception):
    """An error to report in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        print(
            f"sinapse: error: {message} (see python -m sinapse {self.prog.split()[-1]} --help)"
            if self.prog.split()[-1] != "sinapse"
            else f"sinapse: error: {message} (see python -m sinapse --help)",
            file=sys.stderr,
        )
        sys.exit(2)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sinapse",
        description="sinapse: train and evaluate the seed models "
        "(hand-written C++/CUDA kernels behind a Keras-style API).",
    )
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,info,tune}", parser_class=_Parser)
    train = sub.add_parser(
        "train",
        help="train a seed model on a dataset, report test accuracy and wall time, save it",
        description="Train a seed model (docs/seed_models.md) with its recipe; print the test "
        "accuracy and the wall time; save the model. alexnet trains on a small synthetic batch "
        "(227x227x3 inputs); char_lstm on a text file the OS ships.",
    )
    train.add_argument("--model", choices=MODELS, default="keras_mnist_cnn", help="default: keras_mnist_cnn")
    train.add_argument("--dataset", choices=DATASETS, default="fashion_mnist", help="default: fashion_mnist")
    train.add_argument("--epochs", type=_positive_int, help="default: the recipe's")
    train.add_argument("--batch-size", type=_positive_int, help="default: the recipe's")
    train.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="default: cpu")
    train.add_argument("--out", help="where to save the model (default: MODEL_DATASET.safetensors)")
    train.add_argument("--limit", type=_positive_int, help="use only the first N training images (quick runs)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1, help="Keras verbosity (default 1)")
    train.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training on the processes an MPI launcher started "
        "(mpirun -np 2 python -m sinapse train --distributed): --batch-size is the global batch, "
        "rank 0 prints and saves (docs/distributed.md)",
    )
    train.add_argument(
        "--sync-batch-norm",
        action="store_true",
        help="with --distributed: BatchNormalization normalises with the statistics of the whole global "
        "batch instead of each process's rows",
    )
    evaluate = sub.add_parser("evaluate", help="evaluate a saved model on a dataset's test set")
    evaluate.add_argument("model_file")
    evaluate.add_argument("--dataset", choices=DATASETS, default="fashion_mnist", help="default: fashion_mnist")
    evaluate.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="default: cpu")
    info = sub.add_parser("info", help="show the build and machine configuration (sinapse.show_config())")
    tune = sub.add_parser(
        "tune",
        help="auto-tune the GEMM on this machine and cache the winner (sinapse.cpu.tune())",
        description="Search micro-kernel shapes and blocksizes (KC, MC, NC) of the tuned GEMM "
        "within a time budget, check each candidate against a float64 reference, and cache the "
        "fastest for this CPU (SINAPSE_TUNE_CACHE overrides the cache file; off disables it).",
    )
    tune.add_argument("--budget", type=_positive_float, default=120.0, help="seconds, a hard bound (default 120)")
    tune.add_argument("--simd", choices=("generic", "avx2", "avx512"), help="default: the path in use")
    tune.add_argument("--threads", type=_positive_int, help="GEMM threads (default: the current setting)")
    tune.add_argument("--cache", help="the cache file (default: $SINAPSE_TUNE_CACHE or ~/.cache/sinapse/)")
    tune.add_argument("--quick", action="store_true", help="small shapes (a smoke test, not a tuning)")
    tune.add_argument("--quiet", action="store_true", help="print only the result")
    parser.set_defaults(subparsers={"train": train, "evaluate": evaluate, "info": info, "tune": tune})
    return parser


def _parse(parser, argv):
    """Arguments left over are reported by their subcommand's parser, so that the hint names
    ``python -m sinapse info --help`` rather than the top-level help."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        (args.subparsers.get(args.command) or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _check_out(out: str) -> None:
    """Refuse an --out that cannot be saved to before training (minutes) rather than after."""
    import os
    import stat

    if os.path.exists(out) and not stat.S_ISREG(os.stat(out).st_mode):
        raise CliError(f"--out {out}: is not a regular file (a directory or device); give a file path")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise CliError(f"--out {out}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"--out {out}: the folder {parent} is not writable")


def _save(model, out: str, fallback: str) -> str:
    """Save to ``out``; if that fails (disk full, ...), keep the trained model in ``fallback``
    (the current directory) and report both, rather than lose the run."""
    try:
        model.save(out)
        return out
    except (OSError, ValueError) as exc:
        import os

        fallback = os.path.abspath(
            fallback
            if os.path.abspath(fallback) != os.path.abspath(out)
            else f"sinapse_rescued_{os.getpid()}.safetensors"
        )
        model.save(fallback)
        raise CliError(
            f"could not save the model to {out} ({exc}); the trained model was saved to {fallback} instead"
        ) from None


def _image_data(dataset, limit=None):
    from . import datasets

    (x_train, y_train), (x_test, y_test) = getattr(datasets, dataset).load_data()
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]

    def prepare(x):
        x = x.astype(np.float32) / np.float32(255.0)
        return x[..., None] if x.ndim == 3 else x  # NHWC: a channel axis for grey images

    return (prepare(x_train), y_train.reshape(-1).astype(np.int32)), (
        prepare(x_test),
        y_test.reshape(-1).astype(np.int32),
    )


def _threads_per_process(local_size: int, env=os.environ) -> int | None:
    """Threads for each of ``local_size`` processes sharing this machine: its cores divided among
    them (at least 1, at most the cores the launcher bound this process to), so that N processes
    do not each start a thread per core. None when OMP_NUM_THREADS says how many (the user's choice)."""
    if env.get("OMP_NUM_THREADS"):
        return None
    cores = os.cpu_count() or 1
    try:
        bound = len(os.sched_getaffinity(0))  # mpirun / srun may bind each process to some cores
    except AttributeError:  # not on Linux
        bound = cores
    return max(1, min(bound, cores // max(1, local_size)))


def _start_distributed(args) -> None:
    """``train --distributed``: join the process group the launcher started and share the cores.
    Outside a launcher, train as one process after one warning (the same command then works on a
    laptop and on a cluster)."""
    from . import distributed, set_num_threads

    if not distributed.launched_by_mpi():
        print(
            "sinapse: warning: --distributed but no MPI launcher started this process: training as 1 process "
            "(for N processes: mpirun -np N python -m sinapse train --distributed ...)",
            file=sys.stderr,
        )
        return
    try:
        distributed.init()
    except ImportError as exc:  # mpi4py missing: N copies would each train alone and write the same file
        raise CliError(f"--distributed: {exc}") from None
    threads = _threads_per_process(distributed.local_size())
    if threads is not None:
        set_num_threads(threads)
    # (with --device cuda each process takes GPU local_rank % count: sinapse.devices does it)
    if distributed.is_main():
        from . import get_num_threads

        n, threads = distributed.size(), get_num_threads()
        print(f"distributed: {n} process{'es' if n > 1 else ''}, {threads} thread{'s' if threads > 1 else ''} each")


def _warn_if_launched_without_distributed(args) -> None:
    """``mpirun -np 2 python -m sinapse train`` without --distributed trains N unrelated copies
    that overwrite one file: say so (the launcher's own variables, no MPI import)."""
    n = os.environ.get("OMPI_COMM_WORLD_SIZE") or os.environ.get("PMI_SIZE")
    if not args.distributed and n and n.isdigit() and int(n) > 1:
        print(
            f"sinapse: warning: started as one of {n} MPI processes without --distributed: each trains "
            "its own model; add --distributed for data-parallel training",
            file=sys.stderr,
        )


def _local_first(load):
    """``load()`` on every process, the first process of each machine before the others, so that a
    dataset missing from the cache is downloaded once per machine rather than once per process."""
    from . import distributed

    if not distributed.is_initialized() or distributed.size() == 1:
        return load()
    if distributed.local_rank() == 0:
        data = load()
        distributed.barrier()
        return data
    distributed.barrier()
    return load()


def _train(args) -> int:
    from . import applications, distributed, utils

    utils.set_random_seed(args.seed)
    _warn_if_launched_without_distributed(args)
    if args.sync_batch_norm and not args.distributed:
        raise CliError("--sync-batch-norm: only with --distributed")
    if args.distributed:
        if args.model == "char_lstm":
            raise CliError("--distributed: char_lstm is not supported; choose another --model")
        _start_distributed(args)
    main_rank = distributed.is_main() if args.distributed else True  # rank 0 prints and saves; all train
    if args.out and main_rank:  # checked before training, which may take minutes
        _check_out(args.out)
    if args.model == "char_lstm":
        from . import char_model

        return char_model.train_cli(args)
    out = args.out or f"{args.model}_{args.dataset if args.model != 'alexnet' else 'synthetic'}.safetensors"
    recipe = applications.RECIPES[args.model]
    epochs = args.epochs or recipe.epochs
    batch_size = args.batch_size or recipe.batch_size  # with --distributed: the global batch
    if args.model == "alexnet":  # no 227x227 dataset on these machines: the seed's shapes on a synthetic batch
        rng = np.random.default_rng(args.seed)
        x_train = rng.random((2 * batch_size, 227, 227, 3), dtype=np.float32)
        y_train = rng.integers(0, 1000, len(x_train)).astype(np.int32)
        x_test, y_test, dataset = x_train, y_train, "synthetic"
    else:
        (x_train, y_train), (x_test, y_test) = _local_first(lambda: _image_data(args.dataset, args.limit))
        dataset = args.dataset
    classes = int(max(y_train.max(), y_test.max())) + 1
    model = applications.build(
        args.model, input_shape=x_train.shape[1:], classes=classes if args.model != "alexnet" else None
    )
    distribute = distributed.DataParallel(sync_batch_norm=args.sync_batch_norm) if args.distributed else None
    model.compile(**recipe.compile_args(), device=args.device, distribute=distribute)
    if args.verbose and main_rank:
        model.summary()
    start = time.perf_counter()
    model.fit(  # prints on rank 0 only (the model is distributed)
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=recipe.validation_split,
        verbose=args.verbose,
    )
    train_s = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)[:2]  # every rank: sharded
    if not main_rank:
        return 0
    out = _save(model, out, f"{args.model}_{dataset}.safetensors")
    n = distributed.size() if args.distributed else 1
    processes = f", {n} process{'es' if n > 1 else ''}" if args.distributed else ""
    print(
        f"{args.model} on {dataset}: test accuracy {accuracy:.4f}, test loss {loss:.4f}, "
        f"{epochs} epochs in {train_s:.1f} s ({args.device}{processes}); saved to {out}"
    )
    return 0


def _evaluate(args) -> int:
    from .models import load_model

    model = load_model(args.model_file)
    if args.device != "cpu":
        model.compile(
            optimizer=model.optimizer,
            loss=model.loss,
            metrics=getattr(model, "_metric_ids", None) or None,
            device=args.device,
        )
    _, (x_test, y_test) = _image_data(args.dataset)
    start = time.perf_counter()
    logs = model.evaluate(x_test, y_test, batch_size=256, verbose=0, return_dict=True)  # whatever metrics it has
    measures = ", ".join(f"{name} {value:.4f}" for name, value in logs.items())
    print(f"{args.model_file} on {args.dataset} test set: {measures} ({time.perf_counter() - start:.1f} s)")
    return 0


def _tune(args) -> int:
    from . import cpu

    shapes = ((96, 128, 160), (128, 196, 100)) if args.quick else None
    r = cpu.tune(
        args.budget,
        args.simd,
        shapes=shapes,
        threads=args.threads,
        path=args.cache,
        verbose=not args.quiet,
    )
    c = r["config"]
    print(
        f"{r['simd']}: {c['ukernel']} KC={c['KC']} MC={c['MC']} NC={c['NC']} split={c['split']}, "
        f"{r['gflops']:.1f} GFLOP/s (before: {r['baseline_gflops']:.1f}), {r['candidates']} candidates "
        f"in {r['elapsed_s']:.1f} s; cache: {r['cache']}"
    )
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "info":
            from . import show_config

            show_config()
            return 0
        if args.command == "tune":
            return _tune(args)
        return _train(args) if args.command == "train" else _evaluate(args)
    except KeyboardInterrupt:
        print("sinapse: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, TypeError, RuntimeError, CliError) as exc:  # missing data, no CUDA, bad files
        return _error(f"sinapse: error: {exc}")


def _error(message: str) -> int:
    """Report ``message`` and return status 1; in a job of several processes, end them all
    (MPI_Abort), since the others would otherwise wait for this one in a collective."""
    from . import distributed

    if distributed.is_initialized() and distributed.size() > 1:
        distributed.abort(message)
    print(message, file=sys.stderr)
    return 1
