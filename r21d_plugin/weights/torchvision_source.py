"""torchvision's video ResNets and VMZ-pt / ig65m-pytorch's R(2+1)D-34: one naming table.

Both publish ``state_dict()`` of ``torchvision.models.video.resnet.VideoResNet``. They differ
in what the keys do not say: torchvision's ``r2plus1d_18`` gives both convs of a block the
first conv's mid channels and uses BN eps 1e-5; VMZ-pt and ig65m-pytorch patch the second
conv of each stage's first block to VMZ's per-conv mid channels (288 / 576 / 1152) and set
BN eps 1e-3 (ig65m-pytorch ``models.py``; VMZ ``pt/vmz/models/r2plus1d.py``).
"""
from collections.abc import Mapping
from typing import Dict, Optional

import torch

from .layout import ConversionError, NetworkSpec, Position
from .source import CheckpointSource

#: VideoResNet's stem is one nn.Sequential: (2+1)D = conv, BN, ReLU, conv, BN, ReLU;
#: 3D/2D = conv, BN, ReLU.
_STEM = {'spatial': 'stem.0', 'mid_norm': 'stem.1', 'temporal': 'stem.3', 'conv': 'stem.0'}
#: A block's ``convJ`` is Sequential(conv, BN[, ReLU]); a (2+1)D conv is itself
#: Sequential(spatial conv, BN, ReLU, temporal conv).
_BLOCK = {'spatial': '.0.0', 'mid_norm': '.0.1', 'temporal': '.0.3', 'conv': '.0',
          'norm': '.1'}
_SHORTCUT = {'conv': '0', 'norm': '1'}


class TorchvisionSource(CheckpointSource):
    """``torchvision.models.video`` ``r3d_18``, ``mc3_18``, ``r2plus1d_18`` state dicts."""

    name = 'torchvision'
    norm_eps = 1e-5  # nn.BatchNorm3d's default, which VideoResNet keeps
    mid_channels_rule = 'per_block'
    archs = ('r3d_18', 'mc3_18', 'r2plus1d_18')

    def read(self, path: str) -> Dict[str, torch.Tensor]:
        try:
            state = torch.load(path, map_location='cpu', weights_only=True)
        except Exception as error:  # torch raises several types for a non-.pth file
            raise ConversionError(
                f'{path}: not loadable as a PyTorch state dict with weights_only=True '
                f'({type(error).__name__}: {error})') from error
        if not isinstance(state, Mapping) or not all(
                isinstance(value, torch.Tensor) for value in state.values()):
            raise ConversionError(
                f'{path}: expected a state dict (name -> tensor), as torchvision and '
                f'ig65m-pytorch publish; got a {type(state).__name__}'
                + (f' with keys {sorted(state)[:10]}' if isinstance(state, Mapping) else ''))
        return dict(state)

    def num_classes(self, tensors: Dict[str, torch.Tensor]) -> Optional[int]:
        fc = tensors.get('fc.weight')
        return None if fc is None or fc.dim() != 2 else int(fc.shape[0])

    def module_name(self, position: Position, spec: NetworkSpec) -> str:
        where, piece = position.where, position.piece
        if where == 'fc':
            return 'fc'
        if where == 'stem':
            if piece == 'norm':
                return 'stem.4' if spec.group_convs[0] == '2plus1d' else 'stem.1'
            return _STEM[piece]
        if where == 'shortcut':
            return f'layer{position.stage}.0.downsample.{_SHORTCUT[piece]}'
        return f'layer{position.stage}.{position.block}.conv{position.conv}{_BLOCK[piece]}'

    def param_key(self, module: str, kind: str, param: str) -> Optional[str]:
        return f'{module}.{param}'


class VMZPyTorchSource(TorchvisionSource):
    """VMZ-pt / ig65m-pytorch R(2+1)D-34 state dicts (torchvision keys, VMZ's mid
    channels and BN eps)."""

    name = 'vmz-pt'
    norm_eps = 1e-3
    mid_channels_rule = 'per_conv'
    archs = ('r2plus1d_34', )
