"""sinapse.datasets: the IDX and CIFAR-10 parsers on files the tests write, the look-up order,
downloads (from file:// mirrors, so no network is needed), the offline error, and the real
Fashion-MNIST / MNIST test set when this machine has them (skipped otherwise; nothing is
copied into the repository)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from sinapse.datasets import DatasetNotFoundError, _cifar, _files, _idx, cifar10, fashion_mnist, mnist

MNIST_FILES = _idx.TRAIN + _idx.TEST


# --------------------------------------------------------------------------- writers (the formats' specs)


def idx_bytes(a: np.ndarray, type_code: int = 0x08, magic: bytes | None = None) -> bytes:
    big = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[type_code]
    head = magic if magic is not None else bytes([0, 0, type_code, a.ndim])
    return head + struct.pack(f">{a.ndim}I", *a.shape) + a.astype(big).tobytes()


def write(path: Path, data: bytes, compress: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_mnist_folder(folder: Path, rng, n_train=6, n_test=4, label=None, compress=True) -> dict:
    """The four IDX files of a tiny MNIST-like set; every label equals ``label`` when given (a folder tag)."""
    arrays = {}
    for (img, lab), n in ((_idx.TRAIN, n_train), (_idx.TEST, n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = np.full(n, label, np.uint8) if label is not None else rng.integers(0, 10, n, dtype=np.uint8)
        name_x, name_y = (img, lab) if compress else (img[:-3], lab[:-3])
        write(folder / name_x, idx_bytes(x), compress)
        write(folder / name_y, idx_bytes(y), compress)
        arrays[img], arrays[lab] = x, y
    return arrays


def cifar_bytes(x_hwc: np.ndarray, y: np.ndarray) -> bytes:
    """Records as the CIFAR page specifies: label byte, then the R, G, B planes row-major."""
    planes = x_hwc.transpose(0, 3, 1, 2).reshape(len(x_hwc), -1)
    return np.concatenate([y.reshape(-1, 1).astype(np.uint8), planes], axis=1).tobytes()


def write_cifar_files(rng, records=2, tag=None) -> dict[str, tuple[np.ndarray, np.ndarray, bytes]]:
    out = {}
    for name in _cifar.TRAIN + _cifar.TEST:
        x = rng.integers(0, 256, (records, 32, 32, 3), dtype=np.uint8)
        y = np.full(records, tag, np.uint8) if tag is not None else rng.integers(0, 10, records, dtype=np.uint8)
        out[name] = (x, y, cifar_bytes(x, y))
    return out


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No SINAPSE_DATA, a private home/cache, no system folders, and a downloader that must not be reached."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CACHE_HOME", "SINAPSE_DATA", "SINAPSE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    for module in (mnist, fashion_mnist, cifar10):
        monkeypatch.setattr(module, "SPEC", dataclasses.replace(module.SPEC, system_dirs=()))
    calls = []

    def no_download(d, folder, timeout=None):
        calls.append(d.name)
        raise _files.DownloadError(f"could not download {d.name} (test: offline)")

    monkeypatch.setattr(_files, "download_file", no_download)
    return calls


# --------------------------------------------------------------------------- IDX parser


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("type_code", [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
def test_read_idx_round_trips_every_type(tmp_path, rng, compress, type_code):
    a = (rng.standard_normal((3, 5, 7)) * 50).astype(
        {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32, 0x0E: np.float64}[type_code]
    )
    path = write(tmp_path / "a.idx", idx_bytes(a, type_code), compress)
    got = _idx.read_idx(path)
    assert got.dtype == a.dtype and got.dtype.isnative and got.flags.writeable
    np.testing.assert_array_equal(got, a)


def test_read_idx_checks_expected_magic(tmp_path, rng):
    labels = write(tmp_path / "labels.gz", idx_bytes(rng.integers(0, 10, 5, dtype=np.uint8)), True)
    assert _idx.read_idx(labels, _idx.LABELS_MAGIC).shape == (5,)
    with pytest.raises(ValueError, match=r"labels\.gz: IDX magic number 2049 .* expected 2051"):
        _idx.read_idx(labels, _idx.IMAGES_MAGIC)


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize(
    "data, match",
    [
        (b"\x00\x00", "shorter than the 4-byte magic"),
        (b"\x12\x34\x08\x03" + bytes(12), "not an IDX file: magic number 0x12340803"),
        (b"\x00\x00\x07\x01" + bytes(8), "not an IDX file"),  # unknown type byte
        (b"\x00\x00\x08\x00", "not an IDX file"),  # zero dimensions
        (b"\x00\x00\x08\x03" + struct.pack(">2I", 2, 28), "truncated IDX header"),
        (
            b"\x00\x00\x08\x01" + struct.pack(">I", 10) + bytes(9),
            r"truncated IDX data: .*10 uint8 values \(10 bytes\), the file has 9",
        ),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 10) + bytes(11), "bytes after the IDX data"),
    ],
    ids=["short", "wrong-magic", "bad-type", "no-dims", "cut-header", "cut-data", "trailing"],
)
def test_read_idx_rejects_damaged_files(tmp_path, data, match, compress):
    path = write(tmp_path / "bad-idx1-ubyte.gz", data, compress)
    with pytest.raises(ValueError, match=match) as info:
        _idx.read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_truncated_and_corrupt_gzip(tmp_path, rng):
    good = gzip.compress(idx_bytes(rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)))
    cut = write(tmp_path / "cut.gz", good[: len(good) // 2], False)
    with pytest.raises(ValueError, match=r"cut\.gz: corrupt or truncated gzip"):
        _idx.read_idx(cut)
    flipped = bytearray(good)
    flipped[-6] ^= 0xFF  # inside the CRC-32 trailer
    bad = write(tmp_path / "crc.gz", bytes(flipped), False)
    with pytest.raises(ValueError, match=r"crc\.gz: corrupt or truncated gzip"):
        _idx.read_idx(bad)


def test_image_label_pair_consistency(tmp_path, rng):
    imgs = write(tmp_path / "i.gz", idx_bytes(rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)), True)
    labs = write(tmp_path / "l.gz", idx_bytes(np.array([1, 2], np.uint8)), True)
    with pytest.raises(ValueError, match=r"i\.gz holds 3 images but .*l\.gz holds 2 labels"):
        _idx.load_images_labels(imgs, labs)
    small = write(tmp_path / "s.gz", idx_bytes(np.zeros((2, 27, 28), np.uint8)), True)
    with pytest.raises(ValueError, match=r"s\.gz: images are 27x28, expected 28x28"):
        _idx.load_images_labels(small, labs)
    big = write(tmp_path / "b.gz", idx_bytes(np.array([3, 12, 0], np.uint8)), True)
    with pytest.raises(ValueError, match=r"b\.gz: label 12 is out of range"):
        _idx.load_images_labels(imgs, big)


# --------------------------------------------------------------------------- CIFAR-10 parser


def test_parse_cifar_batch_layout(rng):
    x = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    y = np.array([0, 9, 4], np.uint8)
    data = cifar_bytes(x, y)
    # The format by hand, independent of cifar_bytes: record 1's first red, green, blue bytes.
    assert data[_cifar.RECORD_BYTES] == 9
    assert data[_cifar.RECORD_BYTES + 1] == x[1, 0, 0, 0] and data[_cifar.RECORD_BYTES + 1 + 1024] == x[1, 0, 0, 1]
    assert data[_cifar.RECORD_BYTES + 1 + 2048 + 33] == x[1, 1, 1, 2]
    gx, gy = _cifar.parse_batch(data, "b.bin", records=3)
    assert gx.shape == (3, 32, 32, 3) and gx.dtype == np.uint8 and gx.flags.c_contiguous and gx.flags.writeable
    np.testing.assert_array_equal(gx, x)
    np.testing.assert_array_equal(gy, y)


@pytest.mark.parametrize(
    "cut, records, match",
    [
        (1, None, r"b\.bin: 6145 bytes is not a whole, nonzero number of 3073-byte"),  # truncated
        (0, 3, r"b\.bin: holds 2 records, expected 3"),  # wrong count
        (6146, None, "not a whole, nonzero number"),  # empty file
    ],
    ids=["truncated", "wrong-count", "empty"],
)
def test_parse_cifar_batch_rejects_damaged_files(rng, cut, records, match):
    data = cifar_bytes(rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), np.array([1, 2]))
    with pytest.raises(ValueError, match=match):
        _cifar.parse_batch(data[: len(data) - cut], "b.bin", records)


def test_parse_cifar_batch_rejects_bad_labels(rng):
    data = cifar_bytes(rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), np.array([1, 42]))
    with pytest.raises(ValueError, match=r"b\.bin: record 1 has label 42"):
        _cifar.parse_batch(data, "b.bin")


def _tar_gz(path: Path, files: dict[str, bytes], prefix=_cifar.ARCHIVE_DIR + "/") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("layout", ["loose", "batches-bin", "archive"])
def test_cifar10_load_data_layouts(tmp_path, rng, monkeypatch, isolated, layout):
    monkeypatch.setattr(_cifar, "RECORDS_PER_BATCH", 2)
    files = write_cifar_files(rng)
    folder = tmp_path / "c"
    if layout == "archive":
        folder.mkdir()
        _tar_gz(folder / _cifar.ARCHIVE, {"batches.meta.txt": b"airplane\n", **{n: f[2] for n, f in files.items()}})
    else:
        for name, (_, _, data) in files.items():
            write((folder / _cifar.ARCHIVE_DIR if layout == "batches-bin" else folder) / name, data, False)
    (x, y), (xt, yt) = cifar10.load_data(path=folder)
    assert x.shape == (10, 32, 32, 3) and xt.shape == (2, 32, 32, 3) and x.dtype == xt.dtype == np.uint8
    assert y.shape == (10, 1) and yt.shape == (2, 1) and y.dtype == yt.dtype == np.uint8
    np.testing.assert_array_equal(x, np.concatenate([files[n][0] for n in _cifar.TRAIN]))
    np.testing.assert_array_equal(y[:, 0], np.concatenate([files[n][1] for n in _cifar.TRAIN]))
    np.testing.assert_array_equal(xt, files["test_batch.bin"][0])
    xt2, yt2 = cifar10.load_test_data(path=folder)
    np.testing.assert_array_equal(xt2, xt)
    np.testing.assert_array_equal(yt2, yt)
    assert isolated == []


def test_cifar10_archive_errors(tmp_path, rng, monkeypatch, isolated):
    monkeypatch.setattr(_cifar, "RECORDS_PER_BATCH", 2)
    files = {n: f[2] for n, f in write_cifar_files(rng).items()}
    for sub in "abc":
        (tmp_path / sub).mkdir()
    _tar_gz(tmp_path / "a" / _cifar.ARCHIVE, {n: d for n, d in files.items() if n != "data_batch_3.bin"})
    with pytest.raises(ValueError, match=r"cifar-10-binary\.tar\.gz: the archive lacks data_batch_3\.bin"):
        cifar10.load_data(path=tmp_path / "a")
    whole = _tar_gz(tmp_path / "whole.tar.gz", files).read_bytes()
    write(tmp_path / "b" / _cifar.ARCHIVE, whole[: len(whole) // 2], False)
    with pytest.raises(ValueError, match=r"cifar-10-binary\.tar\.gz: corrupt or truncated archive"):
        cifar10.load_data(path=tmp_path / "b")
    monkeypatch.setattr(_cifar, "RECORDS_PER_BATCH", 3)
    _tar_gz(tmp_path / "c" / _cifar.ARCHIVE, files)
    # the member's size (from its tar header) is checked before it is read
    with pytest.raises(
        ValueError,
        match=r"member cifar-10-batches-bin/data_batch_1\.bin: 6146 bytes, expected 9219 "
        r"\(3 records of 3073 bytes\)",
    ):
        cifar10.load_data(path=tmp_path / "c")


# --------------------------------------------------------------------------- look-up order


def _tag(loaded) -> int:
    """Which folder a tiny set came from: its labels are all the folder's tag."""
    (x, y), (xt, yt) = loaded
    assert x.shape == (6, 28, 28) and xt.shape == (4, 28, 28) and x.dtype == y.dtype == np.uint8
    assert len(set(y.tolist()) | set(yt.tolist())) == 1
    return int(y[0])


def test_lookup_order(tmp_path, rng, monkeypatch, isolated):
    data, system = tmp_path / "data", tmp_path / "sys"
    explicit, sub, alias, root = tmp_path / "explicit", data / "fashion_mnist", data / "fashion-mnist", data
    cache = tmp_path / "home" / ".cache" / "sinapse" / "fashion_mnist"
    for tag, folder in enumerate([explicit, sub, alias, root, cache, system], start=1):
        write_mnist_folder(folder, rng, label=tag, compress=tag % 2 == 0)  # both file spellings
    monkeypatch.setattr(fashion_mnist, "SPEC", dataclasses.replace(fashion_mnist.SPEC, system_dirs=(str(system),)))
    monkeypatch.setenv("SINAPSE_DATA", os.pathsep.join([str(tmp_path / "nowhere"), str(data)]))
    assert _tag(fashion_mnist.load_data(path=explicit)) == 1
    for expected, folder in [(2, sub), (3, alias), (4, root), (5, cache), (6, system)]:
        assert _tag(fashion_mnist.load_data()) == expected
        for f in MNIST_FILES:  # remove one file only: an incomplete folder is skipped, never mixed
            if f.startswith("t10k-images"):
                for spelling in (f, f[:-3]):
                    (folder / spelling).unlink(missing_ok=True)
    with pytest.raises(DatasetNotFoundError):
        fashion_mnist.load_data()
    assert isolated == ["t10k-images-idx3-ubyte.gz"]  # the one file the cache lacked


def test_xdg_cache_home(tmp_path, rng, monkeypatch, isolated):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    write_mnist_folder(tmp_path / "xdg" / "sinapse" / "mnist", rng, label=7)
    assert _tag(mnist.load_data()) == 7


def test_explicit_path_is_the_only_folder(tmp_path, rng, monkeypatch, isolated):
    write_mnist_folder(tmp_path / "home" / ".cache" / "sinapse" / "mnist", rng, label=5)
    write_mnist_folder(tmp_path / "partial", rng, label=1)
    (tmp_path / "partial" / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data(path=tmp_path / "partial")
    msg = str(info.value)
    assert f"{tmp_path / 'partial'} (path=): missing train-images-idx3-ubyte.gz" in msg
    assert isolated == []  # never downloads for an explicit folder
    for path in (tmp_path / "partial", tmp_path / "partial" / "t10k-labels-idx1-ubyte.gz"):  # a file: its folder
        xt, yt = mnist.load_test_data(path=path)  # the test split alone suffices
        assert xt.shape == (4, 28, 28) and set(yt.tolist()) == {1}


def test_offline_error_message(tmp_path, isolated, monkeypatch):
    monkeypatch.setattr(
        fashion_mnist, "SPEC", dataclasses.replace(fashion_mnist.SPEC, system_dirs=(str(tmp_path / "usr-share"),))
    )
    with pytest.raises(DatasetNotFoundError) as info:
        fashion_mnist.load_data()
    assert isinstance(info.value, FileNotFoundError)
    msg = str(info.value)
    assert "Fashion-MNIST not found, and the download failed: could not download train-images-idx3-ubyte.gz" in msg
    for name in MNIST_FILES:
        assert name in msg
    cache = tmp_path / "home" / ".cache" / "sinapse" / "fashion_mnist"
    assert f"{cache} (cache)" in msg and f"{tmp_path / 'usr-share'} (system): no such folder" in msg
    assert "SINAPSE_DATA" in msg and "sudo apt-get install dataset-fashion-mnist" in msg
    assert isolated == ["train-images-idx3-ubyte.gz"]  # gave up after the first failure


def test_sinapse_offline_skips_downloads(isolated, monkeypatch):
    monkeypatch.setenv("SINAPSE_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="downloads are disabled"):
        cifar10.load_data()
    assert isolated == []


# --------------------------------------------------------------------------- downloads (file:// mirrors)


def _mirror(folder: Path) -> str:
    return folder.as_uri() + "/"


def test_download_file_checks_md5_and_writes_atomically(tmp_path, monkeypatch):
    src = tmp_path / "mirror"
    src.mkdir()
    (src / "f.gz").write_bytes(b"payload")
    md5 = hashlib.md5(b"payload").hexdigest()
    cache = tmp_path / "cache"
    empty = tmp_path / "empty-mirror"  # first mirror lacks the file: the second one is used
    got = _files.download_file(_files.Download("f.gz", md5, (_mirror(empty), _mirror(src))), cache)
    assert got == cache / "f.gz" and got.read_bytes() == b"payload"
    with pytest.raises(_files.DownloadError, match=r"could not download f\.gz .*does not match the published"):
        _files.download_file(_files.Download("f.gz", "0" * 32, (_mirror(src),)), tmp_path / "cache2")
    assert list((tmp_path / "cache2").iterdir()) == []  # no partial or unchecked file left behind


def test_load_data_downloads_into_cache(tmp_path, rng, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("XDG_CACHE_HOME", "SINAPSE_DATA", "SINAPSE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    arrays = write_mnist_folder(tmp_path / "mirror", rng)
    downloads = tuple(
        _files.Download(
            n, hashlib.md5((tmp_path / "mirror" / n).read_bytes()).hexdigest(), (_mirror(tmp_path / "mirror"),)
        )
        for n in MNIST_FILES
    )
    monkeypatch.setattr(mnist, "SPEC", dataclasses.replace(mnist.SPEC, downloads=downloads))
    (x, y), (xt, yt) = mnist.load_data()
    np.testing.assert_array_equal(x, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(yt, arrays["t10k-labels-idx1-ubyte.gz"])
    cache = tmp_path / "home" / ".cache" / "sinapse" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(MNIST_FILES)


# --------------------------------------------------------------------------- the real datasets, when present

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SHARED_DATA = Path(
    os.environ.get("SINAPSE_TEST_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)


@pytest.mark.skipif(
    not all((FASHION_DIR / f).is_file() for f in MNIST_FILES),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist(isolated, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "SPEC", dataclasses.replace(fashion_mnist.SPEC, system_dirs=(str(FASHION_DIR),)))
    (x, y), (xt, yt) = fashion_mnist.load_data()  # found through the system folder
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8
    assert y.shape == (60000,) and yt.shape == (10000,)
    np.testing.assert_array_equal(np.bincount(y, minlength=10), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(yt, minlength=10), np.full(10, 1000))
    assert x.max() == 255 and x.min() == 0
    assert len(fashion_mnist.CLASS_NAMES) == 10


@pytest.mark.skipif(
    not (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").is_file(),
    reason="MNIST test set not found (../shared/data/mnist or $SINAPSE_TEST_DATA/mnist)",
)
def test_real_mnist_test_set(isolated):
    folder = SHARED_DATA / "mnist"
    xt, yt = mnist.load_test_data(path=folder)
    assert xt.shape == (10000, 28, 28) and xt.dtype == yt.dtype == np.uint8
    # The published class counts of the MNIST test set.
    np.testing.assert_array_equal(
        np.bincount(yt, minlength=10), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        with pytest.raises(DatasetNotFoundError, match="missing train-images-idx3-ubyte.gz"):
            mnist.load_data(path=folder)


# --------------------------------------------------------------------------- bounded reading (issue 11, class 2)


def _huge_idx_header(dims, type_code=0x08) -> bytes:
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("dims", [(2**32 - 1, 28, 28), (2**32 - 1,) * 3, (2**32 - 1,), (3, 2**31, 2**31)])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_header_claiming_more_than_the_file_is_refused_before_allocating(tmp_path, dims, compress):
    """A 16-byte file whose header claims terabytes: a ValueError naming the file, not a MemoryError
    or NumPy's 'array is too big' (the implied size is checked against the file first)."""
    path = write(tmp_path / "train-images-idx3-ubyte", _huge_idx_header(dims) + b"\0" * 8, compress)
    with pytest.raises(
        ValueError, match=r"train-images-idx3-ubyte: truncated IDX data: the header says " + "x".join(map(str, dims))
    ):
        _idx.read_idx(path)


def test_mnist_load_data_with_a_huge_idx_header_names_the_file(tmp_path, rng, isolated):
    write_mnist_folder(tmp_path, rng)
    write(tmp_path / _idx.TRAIN[0], _huge_idx_header((2**32 - 1, 28, 28)), True)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: truncated IDX data"):
        mnist.load_data(path=tmp_path)


def test_idx_gzip_of_zeros_larger_than_its_header_is_refused(tmp_path):
    """A gzip stream holding far more than the header says is read only up to one byte past it."""
    path = write(tmp_path / "x.idx", _huge_idx_header((4,)) + b"\0" * (8 << 20), True)
    with pytest.raises(ValueError, match=r"x\.idx: bytes after the IDX data: the header says 4 uint8 values"):
        _idx.read_idx(path)


@pytest.mark.parametrize("module", [mnist, fashion_mnist, cifar10])
@pytest.mark.parametrize("bad", [5, 1.5, b"dir", ["a"]])
def test_load_data_path_must_be_a_folder(module, bad):
    with pytest.raises(
        TypeError,
        match=rf"^{module.SPEC.name}\.load_data: `path` must be a folder \(str or "
        rf"os\.PathLike\) or None, got",
    ):
        module.load_data(path=bad)


def _tar_gz_of_zeros(path: Path, name: str, size: int) -> Path:
    """An archive with one member of ``size`` zero bytes, streamed (the test itself stays small)."""

    class Zeros(io.RawIOBase):
        def __init__(self):
            self.left = size

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo(f"{_cifar.ARCHIVE_DIR}/{name}")
        info.size = size
        tar.addfile(info, io.BufferedReader(Zeros()))
    return path


def test_cifar10_archive_member_of_the_wrong_size_is_refused_unread(tmp_path, monkeypatch, isolated):
    """An archive member's size comes from its tar header: one of 60 MB (not 2 records) is refused
    before a byte of it is read, so memory stays flat."""
    monkeypatch.setattr(_cifar, "RECORDS_PER_BATCH", 2)
    read = []
    monkeypatch.setattr(tarfile.TarFile, "extractfile", lambda self, m: read.append(m.name))
    _tar_gz_of_zeros(tmp_path / _cifar.ARCHIVE, "data_batch_1.bin", 60 << 20)
    with pytest.raises(
        ValueError,
        match=r"member cifar-10-batches-bin/data_batch_1\.bin: 62914560 bytes, "
        r"expected 6146 \(2 records of 3073 bytes\)",
    ):
        cifar10.load_data(path=tmp_path)
    assert read == []


def test_cifar10_loose_batch_of_the_wrong_size_is_refused_unread(tmp_path, rng, monkeypatch, isolated):
    monkeypatch.setattr(_cifar, "RECORDS_PER_BATCH", 2)
    for name, (_, _, data) in write_cifar_files(rng).items():
        write(tmp_path / name, data, False)
    with open(tmp_path / "test_batch.bin", "ab") as f:
        f.truncate(1 << 30)  # sparse: 1 GiB on paper, nothing on disk
    with pytest.raises(ValueError, match=r"test_batch\.bin: 1073741824 bytes, expected 6146"):
        cifar10.load_data(path=tmp_path)
