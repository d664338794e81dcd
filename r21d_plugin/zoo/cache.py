"""The cache of published weights: download, verify, convert, once per machine.

Layout under the cache root (``$R21D_HOME``, else ``$XDG_CACHE_HOME/r21d_plugin``, else
``~/.cache/r21d_plugin``)::

    downloads/<publisher file>          the publisher's file, verified
    downloads/<publisher file>.sha256   its SHA-256 where the publisher names none
    downloads/<publisher file>.part     a download in progress (resumed by the next try)
    checkpoints/<name>.pth              the converted checkpoint (load_from, init_cfg, tools)
    checkpoints/<name>.json             where it came from: URL, SHA-256, converter, version
    locks/<publisher file>.lock         held while one process fetches and converts

Processes asking for the same model at once (the ranks of a job, parallel jobs on a node)
take the lock in turn: the first downloads and converts, the others wait and then find the
checkpoint. Every file appears under its final name only when complete (written to a
temporary name, then renamed), so no process reads a half-written one.
"""
import fcntl
import json
import os
import os.path as osp
import sys
import urllib.parse
from contextlib import contextmanager
from typing import Iterator, Optional

from ..engine.checkpoint import atomic_write
from ..weights.convert import convert_checkpoint, file_sha256
from .download import DownloadError, download
from .models import ModelInfo, ZooError, model_info

HOME_ENV = 'R21D_HOME'
#: A server (``https://...``) or folder (``file:///...``) holding the publishers' files under
#: their file names, fetched instead of the publishers' URLs.
MIRROR_ENV = 'R21D_WEIGHTS_MIRROR'


class DigestMismatchError(ZooError):
    """A publisher's file whose SHA-256 is not the expected one; nothing was cached."""


class WeightsUnavailableError(ZooError):
    """A publisher's file that can be neither downloaded nor found in the cache."""


def cache_root() -> str:
    """``$R21D_HOME``, else ``$XDG_CACHE_HOME/r21d_plugin``, else ``~/.cache/r21d_plugin``."""
    home = os.environ.get(HOME_ENV)
    if home:
        return osp.abspath(osp.expanduser(home))
    xdg = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
    return osp.join(osp.abspath(xdg), 'r21d_plugin')


def checkpoint_path(name: str) -> str:
    """Where the converted checkpoint of model ``name`` is (or will be) cached."""
    return osp.join(cache_root(), 'checkpoints', f'{name}.pth')


def record_path(name: str) -> str:
    """The JSON record beside model ``name``'s converted checkpoint (written last)."""
    return osp.join(cache_root(), 'checkpoints', f'{name}.json')


def download_path(info: ModelInfo) -> str:
    """Where the publisher's file of a model is (or will be) kept; a file put there by hand
    is used without any network access."""
    return osp.join(cache_root(), 'downloads', info.file)


def source_url(info: ModelInfo) -> str:
    """The publisher's URL, or ``$R21D_WEIGHTS_MIRROR/<file>``."""
    mirror = os.environ.get(MIRROR_ENV, '').strip()
    if not mirror:
        return info.url
    return f"{mirror.rstrip('/')}/{urllib.parse.quote(info.file)}"


def _record(path: str) -> Optional[dict]:
    try:
        with open(path, encoding='utf-8') as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def _digest_fits(info: ModelInfo, digest: str) -> bool:
    return info.sha256_prefix is None or digest.startswith(info.sha256_prefix)


def is_cached(name: str) -> bool:
    """Whether model ``name``'s converted checkpoint is in the cache (no network needed)."""
    info = model_info(name)
    record = _record(record_path(name))
    return (record is not None and osp.isfile(checkpoint_path(name))
            and record.get('file') == info.file
            and _digest_fits(info, str(record.get('sha256', ''))))


@contextmanager
def _lock(info: ModelInfo) -> Iterator[None]:
    """Hold ``locks/<file>.lock`` (fcntl: released when the process ends, however)."""
    path = osp.join(cache_root(), 'locks', f'{info.file}.lock')
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'a') as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f'{info.name}: waiting for another process fetching {info.file} '
                  f'(lock {path})', file=sys.stderr)
            fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def _verify(info: ModelInfo, path: str, origin: str) -> str:
    """The SHA-256 of ``path``, checked against the metafile's prefix or, where it gives
    none, against the digest recorded at the first download (recorded now if none is)."""
    digest = file_sha256(path)
    placed = origin == path
    refused = ('refused' + ('' if placed else ', nothing was cached')
               + (f'; replace it with the publisher\'s file from {info.url}' if placed else ''))
    if info.sha256_prefix is not None:
        if not digest.startswith(info.sha256_prefix):
            raise DigestMismatchError(
                f'{origin}: SHA-256 {digest} does not start with {info.sha256_prefix}, '
                f'the prefix the metafile gives for {info.file}: {refused}')
        return digest
    record = download_path(info) + '.sha256'
    try:
        with open(record, encoding='utf-8') as file:
            recorded = file.read().split()[0]
    except (OSError, IndexError):
        atomic_write(record, f'{digest}  {info.file}\n')
        print(f'{info.file}: SHA-256 {digest} (the publisher gives none; recorded in '
              f'{record}, later files must match it)', file=sys.stderr)
        return digest
    if digest != recorded:
        raise DigestMismatchError(
            f'{origin}: SHA-256 {digest} is not {recorded}, the digest recorded for '
            f'{info.file} at its first download ({record}; delete it to accept a new file): '
            f'{refused}')
    return digest


def _fetch(info: ModelInfo, progress: bool) -> str:
    """The verified publisher file in ``downloads/``: the one there, or downloaded."""
    path = download_path(info)
    if osp.isfile(path):
        _verify(info, path, path)
        return path
    url, part = source_url(info), path + '.part'
    os.makedirs(osp.dirname(path), exist_ok=True)
    print(f'{info.name}: downloading {url}', file=sys.stderr)
    try:
        download(url, part, progress=progress)
    except DownloadError as error:
        mirror = '' if url != info.url else (f', or set {MIRROR_ENV} to a server or file:// '
                                             f'folder that holds {info.file}')
        raise WeightsUnavailableError(
            f'cannot download {url} ({error}). Without network access, fetch that file '
            f'elsewhere and put it at {path}{mirror}') from None
    try:
        _verify(info, part, url)
    except DigestMismatchError:
        os.remove(part)
        raise
    os.replace(part, path)
    return path


def _convert(info: ModelInfo, src: str) -> str:
    """Convert ``src`` into ``checkpoints/<name>.pth``, then write its JSON record (each
    written atomically; the record last, as it marks the checkpoint complete)."""
    import r21d_plugin

    dst = checkpoint_path(info.name)
    meta = convert_checkpoint(src, dst, info.source, info.arch)
    record = dict(name=info.name, config=info.config, url=info.url, file=info.file,
                  sha256=meta['source_sha256'], convert=' '.join(info.convert_args),
                  plugin_version=r21d_plugin.__version__)
    atomic_write(record_path(info.name), json.dumps(record, indent=2) + '\n')
    print(f'{info.name}: converted {info.file} -> {dst}', file=sys.stderr)
    return dst


def get_checkpoint(name: str, progress: bool = True) -> str:
    """The path of model ``name``'s converted checkpoint, fetched and converted first when
    it is not cached.

    Raises:
        UnknownModelError: no such model (the closest names are given).
        WeightsUnavailableError: the publisher's file can be neither downloaded nor found
            (the message names the URL and the path to put the file at).
        DigestMismatchError: the file is not the expected one; nothing is cached.
        ConversionError: the file does not convert (not the network the metafile says).
    """
    info = model_info(name)
    if is_cached(name):
        return checkpoint_path(name)
    with _lock(info):
        if is_cached(name):  # another process finished it while this one waited
            return checkpoint_path(name)
        return _convert(info, _fetch(info, progress))
