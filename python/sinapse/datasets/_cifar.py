"""CIFAR-10 binary batches (www.cs.toronto.edu/~kriz/cifar.html, "binary version").

Each file is a sequence of 3073-byte records: 1 label byte (0-9), then 3072 pixel bytes, the
1024 red values of the 32x32 image in row-major order, then the 1024 green, then the 1024 blue.
data_batch_1.bin ... data_batch_5.bin hold 10,000 records each, test_batch.bin 10,000.
They are found in a folder, in its cifar-10-batches-bin/ sub-folder (the archive's layout), or
read straight out of the archive cifar-10-binary.tar.gz (no extraction to disk, so no path in a
damaged or hostile archive can write anywhere).
"""

from __future__ import annotations

import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

RECORD_BYTES = 1 + 3 * 32 * 32
RECORDS_PER_BATCH = 10_000  # every official batch file holds exactly this many images
ARCHIVE = "cifar-10-binary.tar.gz"
ARCHIVE_DIR = "cifar-10-batches-bin"
TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST = ("test_batch.bin",)


def parse_batch(data: bytes, name: str, records: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One batch file's bytes -> images (N, 32, 32, 3) uint8 (HWC, as Keras) and labels (N,) uint8.

    ``records``: the number of records the file must hold (10,000 for the official batches);
    ``name`` goes into every error message.
    """
    if len(data) == 0 or len(data) % RECORD_BYTES:
        raise ValueError(
            f"{name}: {len(data)} bytes is not a whole, nonzero number of {RECORD_BYTES}-byte "
            f"CIFAR-10 records (truncated or not a CIFAR-10 binary batch)"
        )
    n = len(data) // RECORD_BYTES
    if records is not None and n != records:
        raise ValueError(f"{name}: holds {n} records, expected {records}")
    table = np.frombuffer(data, np.uint8).reshape(n, RECORD_BYTES)
    labels = table[:, 0].copy()
    if int(labels.max()) > 9:
        bad = int(np.argmax(labels > 9))
        raise ValueError(
            f"{name}: record {bad} has label {labels[bad]}, not 0-9 (not a CIFAR-10 batch; "
            f"CIFAR-100 records have 2 label bytes)"
        )
    images = np.ascontiguousarray(table[:, 1:].reshape(n, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels


def probe_cifar_folder(folder: Path, needed: tuple[str, ...]):
    """(a callable name -> bytes when folder holds every needed batch; else None) and the missing names."""
    for where in (folder, folder / ARCHIVE_DIR):
        if all((where / name).is_file() for name in needed):
            return (lambda name, where=where: _read_file(where / name), str(where)), []
    archive = folder / ARCHIVE
    if archive.is_file():
        return _archive_reader(archive, needed), []
    missing = [n for n in needed if not (folder / n).is_file()]
    return None, missing


def batch_bytes() -> int:
    return RECORD_BYTES * RECORDS_PER_BATCH  # (read at call time: the tests make small batches)


def _check_size(size: int, name) -> None:
    """Refuse a batch of the wrong size before reading it (a huge file or archive member would
    otherwise be read whole into memory before parse_batch could count its records)."""
    if size != batch_bytes():
        raise ValueError(
            f"{name}: {size} bytes, expected {batch_bytes()} ({RECORDS_PER_BATCH} records of "
            f"{RECORD_BYTES} bytes); truncated, padded or not a CIFAR-10 binary batch"
        )


def _read_file(path: Path) -> bytes:
    with open(path, "rb") as f:
        _check_size(os.fstat(f.fileno()).st_size, path)
        return f.read(batch_bytes())


def _archive_reader(archive: Path, needed: tuple[str, ...]):
    """Read the needed members in one pass over the gzip stream (seeking back in it is slow)."""
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in needed and base not in members:
                    _check_size(member.size, f"{archive}: member {member.name}")  # the tar header, before reading
                    data = tar.extractfile(member)
                    if data is None:  # isfile() members always have data; a corrupt archive may not
                        raise tarfile.TarError(f"member {member.name} has no data")
                    members[base] = data.read(batch_bytes())
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ValueError(f"{archive}: corrupt or truncated archive ({exc})") from None
    lacking = [n for n in needed if n not in members]
    if lacking:
        raise ValueError(f"{archive}: the archive lacks {', '.join(lacking)}")
    return members.__getitem__, str(archive)


def load_batches(reader, names: tuple[str, ...], records: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the named batches: x (N, 32, 32, 3) uint8, y (N, 1) uint8 as Keras's cifar10."""
    read, where = reader
    parts = [parse_batch(read(name), f"{where}/{name}", records) for name in names]
    x = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    y = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    return x, y.reshape(-1, 1)
