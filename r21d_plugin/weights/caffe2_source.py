"""VMZ's Caffe2 ``.pkl`` models: reading them safely, and the Caffe2 naming table.

A VMZ ``.pkl`` is a Python 2 pickle of ``{'blobs': {name: numpy array}}`` (VMZ
``c2/tools/minidb_to_pickle.py``). Names come from VMZ's builders (``r3d_model.py`` and
``video_model.py``, commit 54d9322): ``conv1`` / ``conv1_spatbn_relu`` for the stem (a
(2+1)D stem adds ``conv1_middle`` and ``conv1_middle_spatbn_relu``), then per residual
block ``i`` (counted over the whole network) and conv ``j`` in 1, 2: ``comp_i_conv_j``
and ``comp_i_spatbn_j`` (a (2+1)D conv adds ``comp_i_conv_j_middle`` and
``comp_i_spatbn_j_middle``), ``shortcut_projection_i`` and ``shortcut_projection_i_spatbn``
in a stage's first block, and ``last_out_L<classes>``. Blob suffixes: ``_w`` conv/fc
weight, ``_b`` fc bias; BN ``_s`` scale, ``_b`` bias, ``_rm`` running mean, ``_riv``
running variance (Caffe2's SpatialBN stores the variance under that name).
"""
import re
from typing import Dict, Optional

import numpy as np
import torch

from ..safe_pickle import RefusedGlobal, load_pickle
from .layout import ConversionError, NetworkSpec, Position
from .source import CheckpointSource


def load_blobs(path: str) -> Dict[str, np.ndarray]:
    """The ``blobs`` dict of a VMZ Caffe2 ``.pkl``, loaded through the restricted unpickler."""
    try:
        data = load_pickle(path, 'a VMZ Caffe2 .pkl holds only numpy arrays in plain dicts')
    except RefusedGlobal as error:
        raise ConversionError(str(error)) from error
    except Exception as error:  # missing, truncated or not a pickle at all
        raise ConversionError(f'{path}: not a readable pickle ({type(error).__name__}: '
                              f'{error})') from error
    # VMZ's own loader accepts both {'blobs': {...}} and the bare blob dict.
    blobs = data.get('blobs', data) if isinstance(data, dict) else data
    if not isinstance(blobs, dict):
        raise ConversionError(f'{path}: expected a dict of blobs, got {type(blobs).__name__}')
    for name, value in blobs.items():
        if not isinstance(name, str):
            raise ConversionError(f'{path}: blob name {name!r} is not a string')
        if not isinstance(value, np.ndarray) or value.dtype.kind not in 'fiub':
            kind = (f'array of {value.dtype}' if isinstance(value, np.ndarray)
                    else type(value).__name__)
            raise ConversionError(f'{path}: blob {name!r} is a {kind}, not a numeric array')
    return blobs


_FC_BLOB = re.compile(r'^last_out_L(\d+)_w$')
_STEM = {'spatial': 'conv1_middle', 'mid_norm': 'conv1_middle_spatbn_relu',
         'temporal': 'conv1', 'conv': 'conv1', 'norm': 'conv1_spatbn_relu'}
_PARAM_SUFFIXES = {
    'conv': {'weight': '_w'},
    'fc': {'weight': '_w', 'bias': '_b'},
    # Caffe2 does not count batches; the buffer only matters for BN momentum=None.
    'norm': {'weight': '_s', 'bias': '_b', 'running_mean': '_rm', 'running_var': '_riv',
             'num_batches_tracked': None},
}


class Caffe2Source(CheckpointSource):
    """VMZ Caffe2 ``.pkl`` models: the 18-layer families and R(2+1)D-34."""

    name = 'caffe2'
    norm_eps = 1e-3  # every SpatialBN in VMZ's builders
    mid_channels_rule = 'per_conv'
    archs = None

    def read(self, path: str) -> Dict[str, torch.Tensor]:
        return {name: torch.from_numpy(np.ascontiguousarray(blob))
                for name, blob in load_blobs(path).items()}

    def num_classes(self, tensors: Dict[str, torch.Tensor]) -> Optional[int]:
        found = [int(match.group(1)) for match in map(_FC_BLOB.match, tensors) if match]
        return found[0] if len(found) == 1 else None

    def module_name(self, position: Position, spec: NetworkSpec) -> str:
        where, piece, i, j = (position.where, position.piece, position.global_block,
                              position.conv)
        if where == 'fc':
            return f'last_out_L{spec.num_classes}'
        if where == 'stem':
            return _STEM[piece]
        if where == 'shortcut':
            return f'shortcut_projection_{i}' + ('_spatbn' if piece == 'norm' else '')
        return {'spatial': f'comp_{i}_conv_{j}_middle',
                'mid_norm': f'comp_{i}_spatbn_{j}_middle',
                'temporal': f'comp_{i}_conv_{j}',
                'conv': f'comp_{i}_conv_{j}',
                'norm': f'comp_{i}_spatbn_{j}'}[piece]

    def param_key(self, module: str, kind: str, param: str) -> Optional[str]:
        suffix = _PARAM_SUFFIXES[kind][param]
        return None if suffix is None else module + suffix
