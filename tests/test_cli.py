"""`python -m sinapse` (sinapse/cli.py) and the seed models of sinapse.applications."""

import subprocess
import sys

import pytest

import sinapse
from sinapse import applications, cli
from test_datasets import write_mnist_folder


def run_module(*args):
    return subprocess.run([sys.executable, "-m", "sinapse", *args], capture_output=True, text=True, timeout=120)


def test_help_documents_the_commands():
    result = run_module("--help")
    assert result.returncode == 0
    for word in ("train", "evaluate", "info"):
        assert word in result.stdout
    train_help = run_module("train", "--help").stdout
    for option in ("--model", "--dataset", "--epochs", "--batch-size", "--device", "--out"):
        assert option in train_help


@pytest.mark.parametrize(
    "args,match",
    [
        (["train", "--epochs", "0"], "expected a positive integer, got 0"),
        (["train", "--model", "resnet"], "invalid choice: 'resnet'"),
        (["train", "--batch-size", "big"], "expected a positive integer, got 'big'"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_bad_arguments_give_one_line(args, match):
    result = run_module(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0] and "Traceback" not in result.stderr


def test_info_shows_the_configuration(capsys):
    assert cli.main(["info"]) == 0
    assert "sinapse" in capsys.readouterr().out


@pytest.fixture
def tiny_fashion(tmp_path, monkeypatch, rng):
    write_mnist_folder(tmp_path / "data" / "fashion_mnist", rng, n_train=96, n_test=32)
    monkeypatch.setenv("SINAPSE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no cache from the real home
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_train_saves_a_model_that_evaluate_loads(tiny_fashion, capsys):
    out = tiny_fashion / "mlp.safetensors"
    assert (
        cli.main(
            ["train", "--model", "mlp", "--epochs", "1", "--batch-size", "32", "--out", str(out), "--verbose", "0"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "mlp on fashion_mnist: test accuracy" in printed and out.exists()
    assert cli.main(["evaluate", str(out)]) == 0
    assert "fashion_mnist test set: loss" in capsys.readouterr().out
    model = sinapse.models.load_model(str(out))
    assert model.count_params() == 266610


def test_missing_dataset_is_one_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SINAPSE_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    from sinapse.datasets import _files

    def offline(*args, **kwargs):
        raise OSError("offline (test)")

    monkeypatch.setattr(_files, "download_file", offline)
    code = cli.main(["train", "--dataset", "cifar10", "--epochs", "1"])
    err = capsys.readouterr().err
    # The datasets' own message: what is missing, where it was looked for, where to put it.
    assert code == 1 and err.startswith("sinapse: error: CIFAR-10 not found") and "Traceback" not in err
    assert "data_batch_1.bin" in err


@pytest.mark.skipif(sinapse.cuda.is_available(), reason="CUDA is usable here")
def test_cuda_device_without_cuda_is_one_line(tiny_fashion, capsys):
    code = cli.main(["train", "--model", "mlp", "--device", "cuda", "--epochs", "1", "--verbose", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "device 'cuda' is not usable here" in err[0]


@pytest.mark.parametrize(
    "name,params", [("mlp", 266_610), ("keras_mnist_cnn", 34_826), ("lenet5", 61_706), ("geron_cnn", 1_413_834)]
)
def test_seed_models_have_the_published_parameter_counts(name, params):
    model = applications.build(name)
    model.build((None, 28, 28, 1))
    assert model.count_params() == params


def test_alexnet_matches_the_seed_table(rng):
    # The seed's table: C1 55x55x96, S2 27x27x96, C3 27x27x256, S4 13x13x256, C5-C7 13x13, S8 6x6x256.
    model = applications.build("alexnet", classes=10)  # 10 classes: a small head, same feature layers
    model.build((None, 227, 227, 3))
    shapes = [layer.output_shape for layer in model.layers]
    assert shapes[:8] == [
        (55, 55, 96),
        (27, 27, 96),
        (27, 27, 256),
        (13, 13, 256),
        (13, 13, 384),
        (13, 13, 384),
        (13, 13, 256),
        (6, 6, 256),
    ]
    assert shapes[-1] == (10,)


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        applications.build("vgg")


def test_evaluate_a_model_compiled_without_metrics_reports_the_loss(tiny_fashion, capsys):
    model = sinapse.models.Sequential([sinapse.layers.Flatten(input_shape=(28, 28, 1)), sinapse.layers.Dense(10)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")  # no metrics: evaluate returns a float
    model.save(str(tiny_fashion / "plain.st"))
    assert cli.main(["evaluate", str(tiny_fashion / "plain.st")]) == 0
    printed = capsys.readouterr()
    assert "test set: loss " in printed.out and "accuracy" not in printed.out and not printed.err


@pytest.mark.parametrize("out", ["dir", "/dev/full", "missing/m.st"])
def test_train_checks_out_before_training(tiny_fashion, capsys, monkeypatch, out):
    (tiny_fashion / "dir").mkdir()
    monkeypatch.setattr(sinapse.models.Sequential, "fit", lambda *a, **k: pytest.fail("trained before --out check"))
    assert cli.main(["train", "--model", "mlp", "--epochs", "1", "--out", out, "--verbose", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"sinapse: error: --out {out}:")


def test_train_keeps_the_model_when_the_save_fails(tiny_fashion, capsys, monkeypatch):
    real_save = sinapse.models.Sequential.save

    def save(self, filepath, **kwargs):  # the disk fills up while saving to --out only
        if str(filepath).endswith("full.st"):
            raise OSError(28, "No space left on device")
        real_save(self, filepath, **kwargs)

    monkeypatch.setattr(sinapse.models.Sequential, "save", save)
    assert (
        cli.main(
            ["train", "--model", "mlp", "--epochs", "1", "--batch-size", "32", "--out", "full.st", "--verbose", "0"]
        )
        == 1
    )
    err = capsys.readouterr().err
    rescued = tiny_fashion / "mlp_fashion_mnist.safetensors"
    assert "could not save the model to full.st" in err and str(rescued) in err
    assert sinapse.models.load_model(str(rescued)).count_params() == 266610


@pytest.mark.parametrize("command", ["info", "evaluate", "train"])
def test_extra_arguments_point_to_the_subcommand_help(command):
    args = [command, "m.st", "extra"] if command == "evaluate" else [command, "extra"]
    result = run_module(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unrecognized arguments: extra" in lines[0], result.stderr
    assert f"python -m sinapse {command} --help" in lines[0]
