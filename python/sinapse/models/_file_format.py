"""The bytes of a sinapse model file: bounded reading, the checksum, atomic writing.

A file is safetensors (an 8-byte little-endian header length, a JSON header, then raw
little-endian tensors; docs/model_format.md). This module parses it itself rather than
with the safetensors reader so that every size is checked before it is used: the file
must be a regular file (not a device, FIFO or directory), the header is read only up to
``MAX_HEADER_BYTES``, every tensor's offsets must tile the data region exactly, and the
data region is read only after the header has been recognised as a sinapse file of a
supported version. Memory used while reading is therefore at most the file's own size.

The checksum (format version 2) is SHA-256 over the metadata (every key but the checksum,
canonical JSON) and every tensor's name, dtype, shape and bytes: nothing that is loaded
is outside it. Version 1 files hashed the tensors only; they load only with
``safe_mode=False``. It is an integrity check, not a signature (anyone can recompute it),
unless the file is written and read with a secret ``key``: then it is an HMAC-SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import struct
import tempfile

import numpy as np

FORMAT_MODEL, FORMAT_WEIGHTS = "sinapse.model", "sinapse.weights"
FORMAT_VERSION = 2
MAX_HEADER_BYTES = 16 * 2**20  # the JSON header (config + tensor index); a 1,000-layer model needs < 1 MiB
MAX_NDIM = 8
# "training": BackupAndRestore's progress ({"epoch", "batch"} as JSON; callbacks.BackupAndRestore)
METADATA_KEYS = {"format", "format_version", "sinapse_version", "config", "compile", "checksum", "training"}
_DTYPES: dict[str, np.dtype] = {
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
    "U64": np.dtype("<u8"),
}  # all sinapse writes


class ModelFileError(ValueError):
    """A file that is not a (complete, intact, supported) sinapse model file; the message names it."""


# ---------------------------------------------------------------------------- checksum


def _hash_tensors(h, tensors: dict) -> None:
    for name in sorted(tensors):
        a = np.require(tensors[name], requirements="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.reshape(-1).view(np.uint8))


def _key_bytes(key, where: str = "save_model / load_model") -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
        raise ValueError(
            f"{where}: `key` must be bytes or a str of at least 16 bytes, got "
            f"{type(key).__name__} of length {len(key) if hasattr(key, '__len__') else '?'}"
        )
    return bytes(key)


def checksum(metadata: dict, tensors: dict, key=None) -> str:
    """Version 2: SHA-256 over the metadata (without ``checksum``) and every tensor; with a
    ``key``, HMAC-SHA-256 of the same bytes ("hmac-sha256:<hex>"), which only the key's holders can make."""
    h = hmac.new(_key_bytes(key), digestmod="sha256") if key is not None else hashlib.sha256()
    h.update(b"sinapse.model/2\0")
    meta = {k: v for k, v in metadata.items() if k != "checksum"}
    h.update(json.dumps(meta, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode())
    h.update(b"\0")
    _hash_tensors(h, tensors)
    return ("hmac-sha256:" if key is not None else "sha256:") + h.hexdigest()


def _checksum_v1(tensors: dict) -> str:
    """Version 1 (tensors only): kept to verify the tensors of old files loaded with safe_mode=False."""
    h = hashlib.sha256()
    _hash_tensors(h, tensors)
    return "sha256:" + h.hexdigest()


# ---------------------------------------------------------------------------- writing


def _little_endian(a) -> np.ndarray:
    a = np.asarray(a)
    return np.require(a.astype(a.dtype.newbyteorder("<"), copy=False), requirements="C")


def _header_bytes(tensors: dict, metadata: dict) -> bytes:
    """The length prefix and JSON header, deterministic (sorted keys, tensors in name order, padded
    with spaces to a multiple of 8 as safetensors does), so equal models give equal files."""
    names = {np.dtype(v): k for k, v in _DTYPES.items()}
    header, offset = {"__metadata__": dict(sorted(metadata.items()))}, 0
    for name in sorted(tensors):
        a = tensors[name]
        if a.dtype not in names:
            raise TypeError(
                f"cannot save tensor {name!r} of dtype {a.dtype} (sinapse files hold float32, float64, int64, uint64)"
            )
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def _file_mode(path: str) -> int:
    """The permissions the saved file gets: those of the file it replaces, else what
    open() would give a new file (0666 less the umask), as NumPy's and Keras's saves do."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)  # the only portable way to read it: set, then restore at once
        os.umask(umask)
        return 0o666 & ~umask


def check_filepath(where: str, path) -> str:
    """``path`` as a str; TypeError naming ``where`` and `filepath` for anything but a str or
    os.PathLike (os.fspath's own error names neither)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{where}: `filepath` must be a file path (str or os.PathLike), got {path!r} ({type(path).__name__})"
        )
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        raise TypeError(f"{where}: `filepath` must be a non-empty str path, got {path!r}")
    return path


def write_file(path, tensors: dict, metadata: dict, overwrite: bool, key=None, where: str = "save_model") -> None:
    """Write a sinapse file atomically (``atomic_write``). ``where`` (the public method) starts
    every error, which names the user's path, never the temporary one."""
    given = check_filepath(where, path)
    key = None if key is None else _key_bytes(key, where)  # before anything is written
    tensors = {k: _little_endian(v) for k, v in tensors.items()}
    metadata = {**metadata, "checksum": checksum(metadata, tensors, key)}

    def write(f):
        f.write(_header_bytes(tensors, metadata))
        for name in sorted(tensors):
            f.write(tensors[name].reshape(-1).view(np.uint8))

    atomic_write(given, write, overwrite, where)


def atomic_write(path, write, overwrite: bool, where: str) -> None:
    """``write(f)`` into a temporary file in ``path``'s folder (a binary file object), fsync'ed,
    then renamed over ``path``: on any failure the temporary file is removed and an existing
    ``path`` is untouched. FileExistsError when ``path`` exists and ``overwrite`` is False;
    ValueError when it is not a regular file. Errors name ``path`` as the user gave it."""
    given = check_filepath(where, path)
    path = os.path.realpath(given)  # through a symlink: replace the file it points to
    if os.path.exists(path):
        if not overwrite:
            raise FileExistsError(f"{where}: {given} exists and overwrite=False")
        if not stat.S_ISREG(os.stat(path).st_mode):  # never replace a directory, device or FIFO
            raise ValueError(
                f"{where}: {given} exists and is not a regular file "
                f"({_kind(os.stat(path).st_mode)}); save to a file path"
            )
    directory = os.path.dirname(os.path.abspath(path))
    mode = _file_mode(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    except FileNotFoundError:  # else the error would name the temporary file, which the user never chose
        raise FileNotFoundError(
            f"{where}: cannot save to {given}: the folder {directory} does not exist; "
            f"create it first (e.g. os.makedirs)"
        ) from None
    try:
        os.fchmod(fd, mode)  # mkstemp makes it 0600; a saved model gets the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# ---------------------------------------------------------------------------- reading

_KINDS = (
    (stat.S_ISDIR, "a directory (a Keras SavedModel?)"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def _open_regular(path: str):
    """Open ``path`` for reading only if it is a regular file (never block on a FIFO)."""

    def check(mode):
        if not stat.S_ISREG(mode):
            raise ModelFileError(f"{path} is {_kind(mode)}, not a sinapse model file")

    check(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        check(os.fstat(fd).st_mode)  # the path may have been swapped since the stat
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _read_exact(f, n: int, path: str, what: str) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = f.readinto(view[got:])
        if not k:
            raise ModelFileError(f"{path}: truncated ({what}: read {got} of {n} bytes)")
        got += k
    return buf


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def parse_json(text, path: str, what: str):
    """JSON with duplicate keys refused and deep nesting caught, as a ModelFileError."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: {what} is not valid JSON ({str(exc)[:200]})") from None


def _header(f, size: int, path: str) -> tuple[dict, int]:
    if size < 8:
        raise ModelFileError(f"{path}: not a sinapse model file (only {size} bytes; truncated?)")
    (n,) = struct.unpack("<Q", _read_exact(f, 8, path, "header length"))
    if n > size - 8:
        raise ModelFileError(
            f"{path}: not a sinapse model file, or truncated (its header claims {n} bytes, "
            f"the file has {size - 8} after the length)"
        )
    if n > MAX_HEADER_BYTES:
        raise ModelFileError(
            f"{path}: not a sinapse model file (its header claims {n} bytes; the limit is {MAX_HEADER_BYTES})"
        )
    raw = _read_exact(f, n, path, "header")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelFileError(f"{path}: not a sinapse model file (its header is not safetensors JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: not a sinapse model file (its header is not a JSON object)")
    return header, n


def _index(header: dict, data_len: int, path: str) -> dict:
    """name -> (dtype, shape, begin, end), every field checked; the tensors must tile the data exactly."""
    index = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ModelFileError(f"{path}: tensor {name!r} has a malformed header entry {str(entry)[:100]}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in _DTYPES:
            raise ModelFileError(
                f"{path}: tensor {name!r} has dtype {dtype!r}; sinapse files hold {', '.join(_DTYPES)} only"
            )
        ints = (
            all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in [*shape, *offsets])
            if isinstance(shape, list) and isinstance(offsets, list)
            else False
        )
        if not ints or len(shape) > MAX_NDIM or len(offsets) != 2:
            raise ModelFileError(
                f"{path}: tensor {name!r}: shape {shape!r} / data_offsets {offsets!r} must be "
                f"lists of non-negative ints (at most {MAX_NDIM} dimensions, 2 offsets)"
            )
        nbytes = _DTYPES[dtype].itemsize * int(np.prod(shape, dtype=object))
        if offsets[1] - offsets[0] != nbytes:
            raise ModelFileError(
                f"{path}: tensor {name!r} of shape {shape} {dtype} needs {nbytes} bytes, its "
                f"offsets {offsets} span {offsets[1] - offsets[0]}"
            )
        index[name] = (_DTYPES[dtype], tuple(shape), offsets[0], offsets[1])
    end = 0
    for name, (_, _, begin, stop) in sorted(index.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if begin != end:
            raise ModelFileError(
                f"{path}: tensor {name!r} starts at byte {begin} of the data, expected {end} "
                f"(tensors overlap or leave gaps)"
            )
        end = stop
    if end != data_len:
        raise ModelFileError(
            f"{path}: truncated or padded (its tensors hold {end} bytes, the file has {data_len} after the header)"
        )
    return index


def _check_metadata(metadata, expected_formats, path: str) -> int:
    """The format and version; returns the version. Runs before the tensors are read."""
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{path}: not a sinapse model file (no string metadata in its header)")
    fmt = metadata.get("format")
    if fmt not in (FORMAT_MODEL, FORMAT_WEIGHTS):
        raise ModelFileError(f"{path}: not a sinapse model file (format {fmt!r}; expected {FORMAT_MODEL!r})")
    if fmt not in expected_formats:
        raise ModelFileError(
            f"{path}: holds {fmt!r}, expected {' or '.join(map(repr, expected_formats))} "
            f"(weights-only files load with model.load_weights)"
        )
    text = metadata.get("format_version", "")
    if not text.isdigit() or len(text) > 6:
        raise ModelFileError(f"{path}: bad format_version {text!r} (expected a small integer)")
    version = int(text)
    if version > FORMAT_VERSION or version < 1:
        raise ModelFileError(
            f"{path}: format version {version} is not supported by this sinapse "
            f"(it reads versions 1 to {FORMAT_VERSION}); upgrade sinapse"
        )
    unknown = set(metadata) - METADATA_KEYS
    if unknown:
        raise ModelFileError(
            f"{path}: unknown metadata {', '.join(sorted(unknown))} (expected only {', '.join(sorted(METADATA_KEYS))})"
        )
    return version


def _check_signed(path, written: str, key) -> None:
    """A key given must have signed the file; a signed file cannot be verified without its key."""
    signed = written.startswith("hmac-sha256:")
    if key is not None and not signed:
        raise ModelFileError(
            f"{path}: is not signed (no HMAC), but a key was given to verify it; it may have been "
            f"replaced. Load it without key= only if you trust where it came from"
        )
    if key is None and signed:
        raise ModelFileError(f"{path}: is signed with a key (HMAC-SHA-256); pass the same key= to load it")


def read_file(path, expected_formats, safe_mode: bool = True, key=None, where: str = "load_model") -> tuple[dict, dict]:
    """(metadata, tensors) of a verified file; tensors are NumPy views of one buffer of the file's size.

    Raises ModelFileError (naming the file) for anything but an intact file of a supported
    version and format; FileNotFoundError / PermissionError as open() does."""
    path = check_filepath(where, path)
    key = None if key is None else _key_bytes(key, where)
    with _open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        header, n = _header(f, size, path)
        metadata = header.get("__metadata__") or {}
        version = _check_metadata(metadata, expected_formats, path)
        if version < 2 and safe_mode:
            raise ModelFileError(
                f"{path}: written in format version {version}, whose checksum does not cover "
                f"the architecture, so the file cannot be verified. If you trust it, load it with "
                f"safe_mode=False and save it again to upgrade it to version {FORMAT_VERSION}"
            )
        _check_signed(path, metadata.get("checksum", ""), key)
        index = _index(header, size - 8 - n, path)
        data = _read_exact(f, size - 8 - n, path, "tensor data")
    tensors = {
        name: np.frombuffer(data, dtype, int(np.prod(shape, dtype=np.int64)), begin).reshape(shape)
        for name, (dtype, shape, begin, _) in index.items()
    }
    expected = checksum(metadata, tensors, key) if version >= 2 else _checksum_v1(tensors)
    if not hmac.compare_digest(metadata.get("checksum", ""), expected):
        raise ModelFileError(
            f"{path}: checksum mismatch — the file is corrupted or was edited (its contents do "
            f"not match the checksum written with them)"
        )
    return metadata, tensors
