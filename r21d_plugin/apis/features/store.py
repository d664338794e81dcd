"""What a feature extraction leaves in OUT: one ``.npy`` per video, ``index.csv``,
``settings.json`` and ``failed.txt`` (the package docstring gives the layout)."""
import csv
import io
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

from ...data.prep.flow_extraction import PARTIAL_PREFIX, PARTIAL_SUFFIX


#: Columns of ``OUT/index.csv``.
INDEX_COLUMNS = ('video', 'features', 'frames', 'fps', 'windows', 'first_start',
                 'last_start', 'stride', 'span', 'layer')
INDEX_FILE, SETTINGS_FILE, FAILED_FILE = 'index.csv', 'settings.json', 'failed.txt'
#: Settings that follow from the others (recorded for readers, not compared on a rerun).
DERIVED_SETTINGS = ('feature_shape', 'layout')



class _PartialFeatures:
    """One video's ``.npy`` written row by row under a temporary name, renamed when whole."""

    def __init__(self, path: str, num_windows: int) -> None:
        self.path, self.num_windows, self.written = path, num_windows, 0
        folder, name = osp.split(path)
        self.partial = osp.join(folder, PARTIAL_PREFIX + name + PARTIAL_SUFFIX)
        self.file: Optional[io.BufferedWriter] = None

    def write(self, rows: np.ndarray) -> None:
        if self.file is None:  # the shape of a window's feature is the first rows'
            os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
            self.file = open(self.partial, 'wb')
            np.lib.format.write_array_header_1_0(self.file, dict(
                descr=np.lib.format.dtype_to_descr(np.dtype('<f4')), fortran_order=False,
                shape=(self.num_windows, ) + tuple(rows.shape[1:])))
        self.file.write(np.ascontiguousarray(rows, dtype='<f4').tobytes())
        self.written += len(rows)

    def finish(self) -> None:
        if self.written != self.num_windows:
            raise RuntimeError(f'{self.path}: {self.written} of {self.num_windows} windows')
        self.file.flush()
        os.fsync(self.file.fileno())  # whole on disk before it gets its final name
        self.file.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
            os.remove(self.partial)


def _read_index(path: str) -> Dict[str, dict]:
    if not osp.exists(path):
        return {}
    with open(path, newline='') as f:
        return {row['video']: row for row in csv.DictReader(f)}


def _write_atomically(path: str, text: str) -> None:
    partial = path + PARTIAL_SUFFIX
    with open(partial, 'w', newline='') as f:
        f.write(text)
    os.replace(partial, path)


def _check_settings(out: str, settings: dict, write: bool) -> None:
    """Refuse to add features made otherwise to OUT; record the settings in a new OUT."""
    settings = json.loads(json.dumps(settings, default=str))  # as the file holds them
    path = osp.join(out, SETTINGS_FILE)
    if osp.exists(path):
        with open(path) as f:
            previous = json.load(f)
        differ = sorted(key for key in set(settings) | set(previous)
                        if key not in DERIVED_SETTINGS
                        and settings.get(key) != previous.get(key))
        if differ:
            shown = '; '.join(f'{key}: {previous.get(key)!r} there, {settings.get(key)!r} now'
                              for key in differ)
            raise ValueError(f'{out} holds features made with other settings ({shown}); '
                             'extract into another folder, or remove it first')
    elif write:
        _write_atomically(path, json.dumps(settings, indent=2) + '\n')


def write_index(out: str, rows: Sequence[dict], failed: Dict[str, str]) -> str:
    """Write ``OUT/index.csv`` (one row per finished video) and ``OUT/failed.txt`` (the
    failed videos and why, removed when none failed); return the index's path."""
    text = io.StringIO()
    writer = csv.DictWriter(text, INDEX_COLUMNS, lineterminator='\n')
    writer.writeheader()
    writer.writerows(rows)
    index_file = osp.join(out, INDEX_FILE)
    _write_atomically(index_file, text.getvalue())
    failed_file = osp.join(out, FAILED_FILE)
    if failed:
        _write_atomically(failed_file, ''.join(f'{name}\t{reason}\n'
                                               for name, reason in failed.items()))
    elif osp.exists(failed_file):
        os.remove(failed_file)
    return index_file
