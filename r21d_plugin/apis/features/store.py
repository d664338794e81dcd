"""What a feature extraction leaves in OUT: one ``.npy`` per video, ``index.csv``,
``settings.json`` and ``failed.txt`` (the package docstring gives the layout).

Every file is written through ``engine.checkpoint.AtomicFile`` / ``atomic_write`` (an
exclusive temporary name beside it, fsync, rename): a killed run leaves no file that looks
finished, and no name in OUT that someone planted (a link) is ever opened for writing. One
run writes into an OUT at a time (``exclusive_out``: a lock on ``OUT/.lock``).
"""
import csv
import errno
import fcntl
import io
import json
import os
import os.path as osp
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence

import numpy as np

from ...engine.checkpoint import AtomicFile, atomic_write

#: Columns of ``OUT/index.csv``.
INDEX_COLUMNS = ('video', 'features', 'frames', 'fps', 'windows', 'first_start',
                 'last_start', 'stride', 'span', 'layer')
INDEX_FILE, SETTINGS_FILE, FAILED_FILE = 'index.csv', 'settings.json', 'failed.txt'
#: The lock a run holds on its OUT.
LOCK_FILE = '.lock'


class OutputInUseError(RuntimeError):
    """Another run is writing into the same OUT."""


@contextmanager
def exclusive_out(out: str) -> Iterator[None]:
    """Hold ``OUT/.lock`` (``fcntl.flock``) for the block: two runs into one OUT would
    write the same videos and each rewrite the index.

    Raises:
        OutputInUseError: another process holds it.
    """
    os.makedirs(out, exist_ok=True)
    fd = os.open(osp.join(out, LOCK_FILE),
                 os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0) | os.O_CLOEXEC, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise OutputInUseError(
                f'another feature extraction is writing into {out} (it holds '
                f'{osp.join(out, LOCK_FILE)}): wait for it to finish, or extract into '
                'another folder') from None
        yield
    finally:
        os.close(fd)  # releases the lock


class FeatureFile:
    """One video's ``.npy``, written row by row under a temporary name, renamed when whole."""

    def __init__(self, path: str, num_windows: int) -> None:
        self.path, self.num_windows, self.written = path, num_windows, 0
        self.file: Optional[AtomicFile] = None

    def write(self, rows: np.ndarray) -> None:
        if self.file is None:  # the shape of a window's feature is the first rows'
            self.file = AtomicFile(self.path)
            np.lib.format.write_array_header_1_0(self.file.file, dict(
                descr=np.lib.format.dtype_to_descr(np.dtype('<f4')), fortran_order=False,
                shape=(self.num_windows, ) + tuple(rows.shape[1:])))
        self.file.write(np.ascontiguousarray(rows, dtype='<f4').tobytes())
        self.written += len(rows)

    def finish(self) -> None:
        if self.written != self.num_windows:
            self.abort()
            raise RuntimeError(f'{self.path}: {self.written} of {self.num_windows} windows')
        self.file.commit()

    def abort(self) -> None:
        if self.file is not None:
            self.file.discard()


def read_index(path: str) -> Dict[str, dict]:
    """The rows of an ``index.csv`` by video name (none when there is no index)."""
    if not osp.exists(path):
        return {}
    with open(path, newline='', encoding='utf-8') as f:
        return {row['video']: row for row in csv.DictReader(f)}


def check_settings(out: str, settings: dict, write: bool) -> None:
    """Refuse to add features made otherwise to OUT (naming every setting that differs);
    record the settings in a new OUT."""
    settings = json.loads(json.dumps(settings, default=str))  # as the file holds them
    path = osp.join(out, SETTINGS_FILE)
    if osp.exists(path):
        with open(path, encoding='utf-8') as f:
            previous = json.load(f)
        differ = sorted(key for key in set(settings) | set(previous)
                        if settings.get(key) != previous.get(key))
        if differ:
            shown = '; '.join(f'{key}: {previous.get(key)!r} there, {settings.get(key)!r} now'
                              for key in differ)
            raise ValueError(f'{out} holds features made with other settings ({shown}); '
                             'extract into another folder, or remove it first')
    elif write:
        atomic_write(path, json.dumps(settings, indent=2) + '\n')


def write_index(out: str, rows: Sequence[dict], failed: Dict[str, str]) -> str:
    """Write ``OUT/index.csv`` (one row per finished video) and ``OUT/failed.txt`` (the
    failed videos and why, removed when none failed); return the index's path."""
    text = io.StringIO()
    writer = csv.DictWriter(text, INDEX_COLUMNS, lineterminator='\n')
    writer.writeheader()
    writer.writerows(rows)
    index_file = osp.join(out, INDEX_FILE)
    atomic_write(index_file, text.getvalue())
    failed_file = osp.join(out, FAILED_FILE)
    if failed:
        atomic_write(failed_file, ''.join(f'{name}\t{reason}\n'
                                          for name, reason in failed.items()))
    elif osp.exists(failed_file):
        os.remove(failed_file)
    return index_file
