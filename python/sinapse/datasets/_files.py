"""Finding a dataset's files on disk, and downloading them into the cache when they are missing.

Look-up order (the first folder that holds every needed file wins; files are never mixed
across folders, so a half-copied folder cannot silently pair the wrong halves):

1. ``path=`` given to ``load_data``: only that folder is used; no download.
2. ``SINAPSE_DATA`` (several folders separated by ``os.pathsep``): ``$SINAPSE_DATA/<dataset>/``
   (e.g. ``fashion_mnist/`` or ``fashion-mnist/``), then ``$SINAPSE_DATA`` itself.
3. The cache: ``$XDG_CACHE_HOME/sinapse/<dataset>/``, by default ``~/.cache/sinapse/<dataset>/``.
4. The system's dataset folder, e.g. ``/usr/share/datasets/fashion-mnist/`` from Debian's
   package ``dataset-fashion-mnist``.
5. A download from the official mirrors into the cache (skipped when ``SINAPSE_OFFLINE=1``),
   each file checked against the checksum its authors publish (MD5: the only checksum MNIST,
   Zalando and the CIFAR page publish), written to a temporary file in the cache and renamed
   only after the check, so an interrupted download never leaves a file that looks complete.

Only downloaded files are checked against checksums: files found on disk are trusted to the
parsers, which validate their structure. That matters for Debian's Fashion-MNIST, whose gzip
wrappers differ from Zalando's (no file name in the gzip header) while the decompressed bytes
are the same, so its files do not match Zalando's MD5s.

When everything fails, ``DatasetNotFoundError`` (a FileNotFoundError) says which files are
needed, what each folder it looked in holds, where to put the files, and the apt package.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

# Socket timeout for one download (connect and each read): an offline machine fails fast on
# DNS, a firewalled one after this many seconds per mirror.
DOWNLOAD_TIMEOUT_S = 20.0
_CHUNK = 1 << 20


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are nowhere sinapse looks, and could not be downloaded."""


class DownloadError(OSError):
    """Every mirror of a file failed (offline, HTTP error, or checksum mismatch)."""


@dataclass(frozen=True)
class Download:
    """One file as its authors publish it."""

    name: str  # file name on the mirrors and in the cache
    md5: str  # published checksum of the file as downloaded
    mirrors: tuple[str, ...]  # base URLs, tried in order
    provides: tuple[str, ...] = ()  # logical files it contains (default: itself)

    def contents(self) -> tuple[str, ...]:
        return self.provides or (self.name,)


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # cache folder name and the first SINAPSE_DATA sub-folder name, e.g. "fashion_mnist"
    title: str  # for messages, e.g. "Fashion-MNIST"
    downloads: tuple[Download, ...]
    aliases: tuple[str, ...] = ()  # other SINAPSE_DATA sub-folder names, e.g. "fashion-mnist"
    system_dirs: tuple[str, ...] = ()
    apt_package: str | None = None
    file_hint: str = ""  # how the files may be spelled, for the message


# probe(folder, needed) -> (what the loader reads, or None; the needed names the folder lacks)
Probe = Callable[[Path, "tuple[str, ...]"], "tuple[Any, list[str]]"]


def cache_dir(spec: DatasetSpec) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sinapse" / spec.name


def search_folders(spec: DatasetSpec) -> list[tuple[Path, str]]:
    """(folder, where it came from) in look-up order, without the explicit path= folder."""
    folders: list[tuple[Path, str]] = []
    for root in filter(None, os.environ.get("SINAPSE_DATA", "").split(os.pathsep)):
        for sub in (spec.name, *spec.aliases):
            folders.append((Path(root) / sub, "SINAPSE_DATA"))
        folders.append((Path(root), "SINAPSE_DATA"))
    folders.append((cache_dir(spec), "cache"))
    folders += [(Path(d), "system") for d in spec.system_dirs]
    return folders


def locate(spec: DatasetSpec, path: str | os.PathLike | None, needed: tuple[str, ...], probe: Probe) -> Any:
    """Return probe's result for the first folder holding every needed file (downloading if allowed)."""
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):  # Path(5) would fail with a bare TypeError
            raise TypeError(
                f"{spec.name}.load_data: `path` must be a folder (str or os.PathLike) or None, "
                f"got {path!r} ({type(path).__name__})"
            )
        folder = Path(path).expanduser()
        folder = folder.parent if folder.is_file() else folder
        found, missing = probe(folder, needed)
        if found is not None:
            return found
        raise DatasetNotFoundError(_message(spec, needed, [(folder, "path=", missing)], None, explicit=True))

    looked: list[tuple[Path, str, list[str]]] = []
    for folder, origin in search_folders(spec):
        found, missing = probe(folder, needed)
        if found is not None:
            return found
        looked.append((folder, origin, missing))

    cache = cache_dir(spec)
    _, cache_missing = probe(cache, needed)
    todo = [d for d in spec.downloads if set(d.contents()) & set(cache_missing)]
    if os.environ.get("SINAPSE_OFFLINE", "") not in ("", "0"):
        reason = "downloads are disabled (SINAPSE_OFFLINE is set)"
    else:
        try:
            for d in todo:
                download_file(d, cache)
        except OSError as exc:  # DownloadError, or the cache folder cannot be written
            reason = f"the download failed: {exc}"
        else:
            found, missing = probe(cache, needed)
            if found is not None:
                return found
            reason = f"the downloaded files in {cache} still lack {', '.join(missing)}"
    raise DatasetNotFoundError(_message(spec, needed, looked, reason, explicit=False))


def _message(spec: DatasetSpec, needed, looked, reason, *, explicit: bool) -> str:
    lines = [f"{spec.title} not found" + ("" if reason is None else f", and {reason}") + "."]
    lines.append(f"Needed files: {', '.join(needed)}{spec.file_hint}.")
    lines.append("Looked in:")
    for folder, origin, missing in looked:
        if not folder.is_dir():
            state = "no such folder"
        elif set(missing) == set(needed):
            state = "none of the files"
        else:
            state = f"missing {', '.join(missing)}"
        lines.append(f"  {folder} ({origin}): {state}")
    if explicit:
        lines.append(
            f"Put the files in {looked[0][0]}, or call load_data() without path= to search "
            f"SINAPSE_DATA, the cache and the system folders."
        )
    else:
        lines.append(
            f"Put them in {cache_dir(spec)} or in a folder named by the environment variable "
            f"SINAPSE_DATA (or its sub-folder {spec.name}/), or pass load_data(path=FOLDER)."
        )
        bases = sorted({d.mirrors[0] for d in spec.downloads})
        lines.append(f"Official download: {', '.join(bases)} ({', '.join(d.name for d in spec.downloads)}).")
    if spec.apt_package:
        lines.append(
            f"On Debian/Ubuntu: sudo apt-get install {spec.apt_package} (installs into {spec.system_dirs[0]})."
        )
    return "\n".join(lines)


def download_file(d: Download, folder: Path, timeout: float | None = None) -> Path:
    """Fetch d from its first working mirror into folder, MD5-checked, written atomically."""
    errors: dict[str, list[str]] = {}  # reason -> hosts, so an offline machine gets one short line
    for base in d.mirrors:
        try:
            return _fetch(base + d.name, folder / d.name, d.md5, DOWNLOAD_TIMEOUT_S if timeout is None else timeout)
        except (OSError, ValueError) as exc:  # URLError/HTTPError/timeouts are OSErrors
            reason = str(getattr(exc, "reason", exc))
            errors.setdefault(reason, []).append(urllib.parse.urlsplit(base).hostname or base)
    raise DownloadError(
        f"could not download {d.name} ("
        + "; ".join(f"{', '.join(hosts)}: {reason}" for reason, hosts in errors.items())
        + ")"
    )


def _fetch(url: str, dest: Path, md5: str, timeout: float) -> Path:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # first, so offline leaves no empty folder
        print(f"sinapse.datasets: downloading {url} -> {dest}", file=sys.stderr)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
        try:
            _copy_checked(resp, fd, tmp, dest, md5)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return dest


def _copy_checked(resp, fd: int, tmp: str, dest: Path, md5: str) -> None:
    digest = hashlib.md5(usedforsecurity=False)
    with os.fdopen(fd, "wb") as out:
        while chunk := resp.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != md5:
        raise ValueError(f"MD5 {digest.hexdigest()} does not match the published {md5}")
    os.replace(tmp, dest)
