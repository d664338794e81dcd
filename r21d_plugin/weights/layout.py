"""Our network's parameter layout, position by position, and the architecture it encodes.

A converter is one naming table: for each position of our network (the stem's spatial conv,
the second norm of block 5, the fc, ...) the name a source checkpoint gives it. Which
positions exist, what our keys are, and how they are checked are shared here, so the three
sources differ only in their tables.
"""
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch

from mmaction.registry import MODELS
from ..models import STAGE_BLOCKS, paper_backbone

#: VMZ's model names (its ``--model_name``) and the paper's names for them. An architecture
#: is named ``<model>_<depth>``, e.g. ``r2plus1d_34``, ``mc3_18``; torchvision's
#: ``r3d_18``, ``mc3_18`` and ``r2plus1d_18`` follow the same scheme.
VMZ_MODEL_NAMES: Dict[str, str] = {
    'r2plus1d': 'R(2+1)D',
    'r3d': 'R3D',
    'r2d': 'R2D',
    'r2df': 'f-R2D',
    **{f'mc{x}': f'MC{x}' for x in range(2, 6)},
    **{f'rmc{x}': f'rMC{x}' for x in range(2, 6)},
}

#: What each of our layers holds: the parameter and buffer names of a conv, a norm and the fc.
PARAM_NAMES: Dict[str, Tuple[str, ...]] = {
    'conv': ('weight', ),
    'norm': ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'),
    'fc': ('weight', 'bias'),
}


class ConversionError(ValueError):
    """A checkpoint does not match the architecture it is converted to; names the keys."""


class Position(NamedTuple):
    """Where a layer sits in the network, in the terms every source's naming uses.

    ``where`` is ``'stem'``, ``'block'``, ``'shortcut'`` or ``'fc'``; ``piece`` is
    ``'spatial'``, ``'mid_norm'``, ``'temporal'`` (the parts of a (2+1)D conv), ``'conv'``
    (a 3D/2D conv) or ``'norm'`` (the norm after the conv), or ``'fc'``. ``stage`` is 1..4
    (conv2_x..conv5_x), ``block`` the block within it, ``conv`` 1 or 2 within the block,
    ``global_block`` the block counted over the whole network (VMZ's ``comp_<i>``).
    """
    where: str
    piece: str
    stage: int = 0
    block: int = 0
    conv: int = 0
    global_block: int = 0


class Slot(NamedTuple):
    """One of our layers: its kind (a key of ``PARAM_NAMES``), our module name, its position."""
    kind: str
    target: str
    position: Position


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that fixes the parameter shapes of a converted network.

    Attributes:
        depth: 10, 16, 18, 26 or 34.
        group_convs: conv kind of conv1, conv2_x..conv5_x (``SpatioTemporalResNet``'s).
        in_channels: 3 for RGB, 2 for optical flow.
        num_classes: outputs of the fc.
        stem_mid_channels: mid channels of a (2+1)D stem (45 in every published model).
        mid_channels_rule: ``'per_conv'`` (VMZ) or ``'per_block'`` (torchvision).
        norm_eps: BN epsilon the weights were trained with (not stored in any checkpoint).
        clip_len: frames spanned by R2D's conv1; None for the other networks.
    """
    depth: int
    group_convs: Tuple[str, ...]
    in_channels: int
    num_classes: int
    stem_mid_channels: Optional[int]
    mid_channels_rule: str
    norm_eps: float
    clip_len: Optional[int] = None

    def backbone_config(self) -> dict:
        """The ``SpatioTemporalResNet`` config these weights load into."""
        return dict(
            type='SpatioTemporalResNet', depth=self.depth, group_convs=list(self.group_convs),
            in_channels=self.in_channels, clip_len=self.clip_len,
            stem_mid_channels=self.stem_mid_channels,
            mid_channels_rule=self.mid_channels_rule,
            norm_cfg=dict(type='BN3d', requires_grad=True, eps=self.norm_eps))

    def slots(self) -> List[Slot]:
        """Every layer of the backbone and the head, in network order."""
        slots = self._conv_slots('backbone.conv1', self.group_convs[0], Position('stem', ''))
        global_block = 0
        for stage, num_blocks in enumerate(STAGE_BLOCKS[self.depth], start=1):
            kind = self.group_convs[stage]
            for block in range(num_blocks):
                prefix = f'backbone.layer{stage}.{block}'
                for conv in (1, 2):
                    slots += self._conv_slots(
                        f'{prefix}.conv{conv}', kind,
                        Position('block', '', stage, block, conv, global_block))
                # conv2_x keeps 64 channels at stride 1; every later stage projects.
                if block == 0 and stage > 1:
                    shortcut = Position('shortcut', '', stage, 0, 0, global_block)
                    slots += [Slot('conv', f'{prefix}.downsample.conv',
                                   shortcut._replace(piece='conv')),
                              Slot('norm', f'{prefix}.downsample.norm',
                                   shortcut._replace(piece='norm'))]
                global_block += 1
        slots.append(Slot('fc', 'cls_head.fc_cls', Position('fc', 'fc')))
        return slots

    @staticmethod
    def _conv_slots(target: str, kind: str, position: Position) -> List[Slot]:
        if kind == '2plus1d':
            return [Slot('conv', f'{target}.conv.spatial', position._replace(piece='spatial')),
                    Slot('norm', f'{target}.conv.mid_norm',
                         position._replace(piece='mid_norm')),
                    Slot('conv', f'{target}.conv.temporal',
                         position._replace(piece='temporal')),
                    Slot('norm', f'{target}.norm', position._replace(piece='norm'))]
        return [Slot('conv', f'{target}.conv', position._replace(piece='conv')),
                Slot('norm', f'{target}.norm', position._replace(piece='norm'))]

    def build_target(self) -> Dict[str, torch.Tensor]:
        """Our backbone and ``I3DHead`` for this spec, built on the meta device (shapes only).

        Returns the state dict with ``backbone.`` and ``cls_head.`` prefixes, as a
        ``Recognizer3D`` holds it.
        """
        with torch.device('meta'):
            backbone = MODELS.build(self.backbone_config())
            head = MODELS.build(dict(type='I3DHead', num_classes=self.num_classes,
                                     in_channels=backbone.feat_dim))
        state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
        state.update({f'cls_head.{k}': v for k, v in head.state_dict().items()})
        return state


def parse_arch(arch: str) -> Tuple[str, int]:
    """``'mc3_18'`` -> (``'MC3'``, 18): the paper's name and the depth."""
    model, _, depth = arch.rpartition('_')
    if model not in VMZ_MODEL_NAMES or not depth.isdigit() or int(depth) not in STAGE_BLOCKS:
        raise ConversionError(
            f'unknown arch {arch!r}: expected <model>_<depth> with model one of '
            f'{sorted(VMZ_MODEL_NAMES)} and depth one of {sorted(STAGE_BLOCKS)}')
    return VMZ_MODEL_NAMES[model], int(depth)


@lru_cache(maxsize=None)
def arch_group_convs(arch: str) -> Tuple[str, ...]:
    """The conv kind per group of a named architecture, as our presets define it."""
    name, depth = parse_arch(arch)
    with torch.device('meta'):
        return MODELS.build(paper_backbone(name, depth=depth)).group_convs


def arch_name(depth: int, group_convs: Tuple[str, ...]) -> Optional[str]:
    """The ``<model>_<depth>`` name of a spec's architecture, or None for an unnamed mix."""
    for model in VMZ_MODEL_NAMES:
        if arch_group_convs(f'{model}_{depth}') == tuple(group_convs):
            return f'{model}_{depth}'
    return None
