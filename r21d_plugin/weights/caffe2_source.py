"""VMZ's Caffe2 ``.pkl`` models: a restricted unpickler and the Caffe2 naming table.

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
import codecs
import io
import pickle
import re
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np
import torch

from .layout import ConversionError, NetworkSpec, Position
from .source import CheckpointSource


def _numpy_core():
    return getattr(np, '_core', None) or np.core


def _allowed_globals() -> Dict[tuple, object]:
    """The only callables a blob pickle may name: array and dtype reconstruction."""
    core = _numpy_core()
    allowed = {
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        # Python 3 writes bytes through _codecs.encode at protocol 2.
        ('_codecs', 'encode'): codecs.encode,
        ('collections', 'OrderedDict'): OrderedDict,
    }
    # Python 2 / numpy 1 pickles name numpy.core; numpy 2 writes numpy._core.
    for module in ('numpy.core', 'numpy._core'):
        allowed[(f'{module}.multiarray', '_reconstruct')] = core.multiarray._reconstruct
        allowed[(f'{module}.multiarray', 'scalar')] = core.multiarray.scalar
        allowed[(f'{module}.numeric', '_frombuffer')] = core.numeric._frombuffer
    return allowed


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle names a callable outside the allow-list."""


class BlobUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays in plain containers and refuses everything else.

    A pickle can name any importable callable; a downloaded ``.pkl`` must not run code.
    """

    def __init__(self, file: io.BufferedIOBase, path: str) -> None:
        # Python 2 str (the arrays' raw bytes) decodes losslessly as latin1.
        super().__init__(file, encoding='latin1')
        self.path = path
        self.allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        raise RefusedGlobal(
            f'{self.path}: refusing to load global {module}.{name}: a VMZ Caffe2 .pkl holds '
            f'only numpy arrays in plain dicts, and unpickling anything else could run code')


def load_blobs(path: str) -> Dict[str, np.ndarray]:
    """The ``blobs`` dict of a VMZ Caffe2 ``.pkl``, loaded through ``BlobUnpickler``."""
    with open(path, 'rb') as file:
        try:
            data = BlobUnpickler(file, path).load()
        except RefusedGlobal as error:
            raise ConversionError(str(error)) from error
        except Exception as error:  # truncated or not a pickle at all
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
