"""Class names of the datasets the published weights were trained on, shipped as package data.

A label map is a UTF-8 text file with one class name per line, line ``i`` naming class ``i``
(MMAction2's format). Configs name theirs with a top-level ``label_map`` key: a packaged name
below, or a path to such a file.

* ``kinetics400``: Kinetics-400 in alphabetical order, copied from MMAction2's
  ``tools/data/kinetics/label_map_k400.txt``. It is, line for line, the order of
  torchvision's weights (``R2Plus1D_18_Weights.KINETICS400_V1.meta['categories']``, also
  ``R3D_18`` and ``MC3_18``), of VMZ-pt (torchvision's ``Kinetics400`` dataset: sorted class
  folders, the same order with spaces or underscores) and of the list ig65m-pytorch points to
  for its Kinetics models (Showmax/kinetics-downloader ``classes.json``). VMZ's Caffe2 list
  files are not public, but its Kinetics models load into the same heads.
* ``sports1m``: Sports-1M's 487 classes, ``labels.txt`` of gtoderici/sports-1m-dataset
  (commit a035faa), whose README states that line ``i`` is label ``i`` of the official
  partitions (0 = boomerang, 486 = model aircraft).

IG-65M's pre-training classes (hashtags) are not public: models trained only on IG-65M have no
label map, and their predictions are reported as class indices.
"""
import os
import os.path as osp
from typing import List

#: Packaged label maps by name.
LABEL_MAPS = ('kinetics400', 'sports1m')


class LabelMapError(ValueError):
    """A label map that cannot be used; the message names the file (and line)."""


def label_map_path(name: str) -> str:
    """The file of a packaged label map (``LABEL_MAPS``)."""
    if name not in LABEL_MAPS:
        raise LabelMapError(f'no packaged label map {name!r}; packaged: {", ".join(LABEL_MAPS)}')
    return osp.join(osp.dirname(osp.abspath(__file__)), f'{name}.txt')


def load_label_map(name_or_path: str) -> List[str]:
    """Class names from a packaged label map's name or a label map file.

    Blank lines at the end are ignored; a blank line or a repeated name inside is an error,
    as it would shift or merge classes.

    Raises:
        LabelMapError: naming the file (and the line) when it cannot be used.
    """
    path = label_map_path(name_or_path) if name_or_path in LABEL_MAPS else os.fspath(name_or_path)
    if not osp.isfile(path):
        raise LabelMapError(f'label map {path}: no such file (packaged label maps: '
                            f'{", ".join(LABEL_MAPS)})')
    try:
        with open(path, encoding='utf-8') as file:
            lines = [line.rstrip('\r\n').strip() for line in file]
    except UnicodeDecodeError as error:
        raise LabelMapError(f'label map {path}: not UTF-8 text ({error})') from None
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise LabelMapError(f'label map {path}: empty file (expected one class name per line)')
    first_line = {}
    for lineno, name in enumerate(lines, 1):
        if not name:
            raise LabelMapError(f'{path}:{lineno}: blank line inside the label map (line i '
                                f'must name class i - 1)')
        if name in first_line:
            raise LabelMapError(f'{path}:{lineno}: class {name!r} repeats line '
                                f'{first_line[name]}')
        first_line[name] = lineno
    return lines
