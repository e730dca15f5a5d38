"""IDX files (MNIST, Fashion-MNIST), gzip-compressed or not, and the MNIST-style loader.

IDX (yann.lecun.com/exdb/mnist): a big-endian header, then the values in C order.
  bytes 0-1  zero
  byte  2    element type: 0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
  byte  3    number of dimensions
  then one big-endian uint32 per dimension, then the data.
So MNIST images start with the "magic number" 0x00000803 = 2051 (ubyte, 3 dims: N, 28, 28)
and labels with 0x00000801 = 2049 (ubyte, 1 dim: N).

The parser checks every part of that: zero bytes, type, dimension count, and that the data
is exactly as long as the header says (a truncated file or trailing bytes are errors), and
names the file in every error. Compression is detected from the content (gzip's 1f 8b),
not from the file name.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ._files import DatasetSpec, locate

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip or plain) into a new, writeable array in native byte order.

    ``magic``: the expected first four bytes as a big-endian int (2051 images, 2049 labels);
    a different one is a ValueError naming the file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            size = os.fstat(raw.fileno()).st_size
        with gzip.open(path, "rb") if compressed else open(path, "rb") as f:
            return _read_idx_stream(f, path, magic, None if compressed else size, size)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # gzip stream cut short or damaged
        raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from None


# deflate expands at most ~1032:1, so a gzip file of n bytes cannot hold more than this many times n
_MAX_GZIP_RATIO = 1100


def _check_size(path: Path, dims, dtype, header: int, plain_size: int | None, file_size: int) -> int:
    """The data's byte count the header implies, checked (in Python ints, no overflow) against what
    the file can hold before anything is allocated: a 16-byte file cannot claim 3 TiB of images."""
    nbytes = dtype.itemsize
    for d in dims:
        nbytes *= d
    shape = f"{'x'.join(map(str, dims))} {dtype.name} values ({nbytes} bytes)"
    if plain_size is not None and header + nbytes != plain_size:
        what = "truncated IDX data" if header + nbytes > plain_size else "bytes after the IDX data"
        raise ValueError(f"{path}: {what}: the header says {shape}, the file has {plain_size - header}")
    if plain_size is None and nbytes > _MAX_GZIP_RATIO * file_size:
        raise ValueError(
            f"{path}: truncated IDX data: the header says {shape}, more than a {file_size}-byte gzip file can hold"
        )
    return nbytes


def _read_data(f, nbytes: int) -> bytearray:
    """Up to nbytes + 1 bytes, grown as they arrive: memory follows the data actually present
    (a gzip stream's decompressed size is not known before it is read)."""
    buf = bytearray()
    while len(buf) <= nbytes:
        chunk = f.read(min(1 << 22, nbytes + 1 - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _read_idx_stream(f, path: Path, magic: int | None, plain_size: int | None, file_size: int) -> np.ndarray:
    """``plain_size``: the size of an uncompressed file (None for gzip, of ``file_size`` bytes)."""
    head = f.read(4)
    if len(head) < 4:
        raise ValueError(f"{path}: not an IDX file: {len(head)} bytes, shorter than the 4-byte magic number")
    found = int.from_bytes(head, "big")
    if head[:2] != b"\0\0" or head[2] not in _TYPES or head[3] == 0:
        raise ValueError(
            f"{path}: not an IDX file: magic number 0x{found:08x} "
            f"(expected 00 00, a type byte in {sorted(hex(t) for t in _TYPES)}, a dimension count)"
        )
    if magic is not None and found != magic:
        raise ValueError(
            f"{path}: IDX magic number {found} (type 0x{head[2]:02x}, {head[3]} dimensions), "
            f"expected {magic} (type 0x{(magic >> 8) & 0xFF:02x}, {magic & 0xFF} dimensions)"
        )
    ndim, dtype = head[3], _TYPES[head[2]]
    dims_bytes = f.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise ValueError(
            f"{path}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes, the file has {len(dims_bytes)}"
        )
    dims = struct.unpack(f">{ndim}I", dims_bytes)
    nbytes = _check_size(path, dims, dtype, 4 + 4 * ndim, plain_size, file_size)
    data = _read_data(f, nbytes)
    shape = f"{'x'.join(map(str, dims))} {dtype.name} values ({nbytes} bytes)"
    if len(data) < nbytes:
        raise ValueError(f"{path}: truncated IDX data: the header says {shape}, the file has {len(data)}")
    if len(data) > nbytes:
        raise ValueError(f"{path}: bytes after the IDX data: the header says {shape}, the file has more")
    out = np.frombuffer(data, dtype=dtype).reshape(dims)  # writeable: a view of the bytearray
    return out.astype(dtype.newbyteorder("="), copy=False)


# --------------------------------------------------------------------------- MNIST-style datasets

TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
FILE_HINT = " (each gzip-compressed, or uncompressed without the .gz)"


def probe_idx_folder(folder: Path, needed: tuple[str, ...]):
    """({name: path} when folder holds every needed file, gzipped or not; else None) and the missing names."""
    found, missing = {}, []
    for name in needed:
        for candidate in (folder / name, folder / name.removesuffix(".gz")):
            if candidate.is_file():
                found[name] = candidate
                break
        else:
            missing.append(name)
    return (found if not missing else None), missing


def load_images_labels(images: Path, labels: Path, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A matching pair of image (N, 28, 28) and label (N,) files, both uint8, checked for consistency."""
    x = read_idx(images, IMAGES_MAGIC)
    y = read_idx(labels, LABELS_MAGIC)
    if x.shape[1:] != (28, 28):
        raise ValueError(f"{images}: images are {x.shape[1]}x{x.shape[2]}, expected 28x28")
    if len(x) != len(y):
        raise ValueError(f"{images} holds {len(x)} images but {labels} holds {len(y)} labels")
    if y.size and int(y.max()) >= num_classes:
        raise ValueError(f"{labels}: label {int(y.max())} is out of range for {num_classes} classes")
    return x, y


def load_mnist_like(spec: DatasetSpec, path, splits: tuple[tuple[str, str], ...]):
    """[(x, y) for each (images, labels) file pair in splits], from the first folder holding them all."""
    needed = tuple(name for pair in splits for name in pair)
    files = locate(spec, path, needed, probe_idx_folder)
    return [load_images_labels(files[img], files[lab]) for img, lab in splits]
