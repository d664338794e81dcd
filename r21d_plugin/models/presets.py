"""Paper names -> conv kinds per group, the registered backbones, and ``paper_backbone``.

Groups are numbered as in the paper's Table 1: 1 = conv1, 2..5 = conv2_x..conv5_x.
"""
from typing import Dict, Tuple

from mmaction.registry import MODELS
from .resnet import SpatioTemporalResNet

NUM_GROUPS = 5


def mixed_group_convs(switch_group: int, reversed_: bool = False) -> Tuple[str, ...]:
    """MCx: 3D in groups 1..x-1, 2D in groups x..5; rMCx (``reversed_``) the opposite."""
    if not 2 <= switch_group <= NUM_GROUPS:
        raise ValueError(f'switch_group (the x of MCx / rMCx) must be 2..5, got '
                         f'{switch_group}')
    early, late = ('2d', '3d') if reversed_ else ('3d', '2d')
    return tuple(early if group < switch_group else late
                 for group in range(1, NUM_GROUPS + 1))


def _fixed_convs_preset(class_name: str, group_convs: Tuple[str, ...], summary: str):
    """A registered subclass of the builder whose ``group_convs`` is fixed."""

    def __init__(self, **kwargs):
        if 'group_convs' in kwargs:
            raise TypeError(f'{class_name} fixes group_convs={group_convs}; use '
                            f'SpatioTemporalResNet to choose them')
        SpatioTemporalResNet.__init__(self, group_convs=group_convs, **kwargs)

    doc = (f'{summary}\n\n    ``SpatioTemporalResNet`` with ``group_convs={group_convs}``; '
           'takes all its other arguments.\n    ')
    cls = type(class_name, (SpatioTemporalResNet, ), dict(__init__=__init__, __doc__=doc))
    cls.__module__ = __name__
    return MODELS.register_module(module=cls)


ResNet2Plus1dHomog = _fixed_convs_preset(
    'ResNet2Plus1dHomog', ('2plus1d', ) * NUM_GROUPS,
    'R(2+1)D: every conv factorised into 1 x d x d then t x 1 x 1 (homogeneous).')
R3DResNet = _fixed_convs_preset(
    'R3DResNet', ('3d', ) * NUM_GROUPS, 'R3D: every conv a full t x d x d 3D conv.')
FR2DResNet = _fixed_convs_preset(
    'FR2DResNet', ('2d', ) * NUM_GROUPS,
    'f-R2D: every conv 2D (1 x d x d) on each frame; frames meet only in the final pool.')
R2DResNet = _fixed_convs_preset(
    'R2DResNet', ('r2d', ) + ('2d', ) * (NUM_GROUPS - 1),
    'R2D: conv1 (L x 7 x 7, no temporal padding) collapses the clip; 2D after. '
    'Needs ``clip_len``.')


@MODELS.register_module()
class MixedConvResNet(SpatioTemporalResNet):
    """MCx: 3D convs in groups 1..x-1 and 2D convs in groups x..5 (x = ``switch_group``).

    Args:
        switch_group (int): the x of MCx, 2..5 (MC3: conv1 and conv2_x are 3D).
        **kwargs: the other arguments of ``SpatioTemporalResNet``.
    """

    reversed_mix = False

    def __init__(self, switch_group: int = 3, **kwargs) -> None:
        self.switch_group = switch_group
        super().__init__(
            group_convs=mixed_group_convs(switch_group, self.reversed_mix), **kwargs)


@MODELS.register_module()
class ReversedMixedConvResNet(MixedConvResNet):
    """rMCx: 2D convs in groups 1..x-1 and 3D convs in groups x..5 (x = ``switch_group``).

    Args:
        switch_group (int): the x of rMCx, 2..5 (rMC3: conv1 and conv2_x are 2D).
        **kwargs: the other arguments of ``SpatioTemporalResNet``.
    """

    reversed_mix = True


def _paper_presets() -> Dict[str, dict]:
    presets = {
        'R2D': dict(type='R2DResNet'),
        'f-R2D': dict(type='FR2DResNet'),
        'R3D': dict(type='R3DResNet'),
        'R(2+1)D': dict(type='ResNet2Plus1dHomog'),
    }
    for x in range(2, NUM_GROUPS + 1):
        presets[f'MC{x}'] = dict(type='MixedConvResNet', switch_group=x)
        presets[f'rMC{x}'] = dict(type='ReversedMixedConvResNet', switch_group=x)
    return presets


#: The twelve networks of the paper's Table 2, by the paper's names.
PAPER_PRESETS = _paper_presets()
PAPER_NAMES = ('R2D', 'f-R2D', 'R3D', 'MC2', 'MC3', 'MC4', 'MC5', 'rMC2', 'rMC3', 'rMC4',
               'rMC5', 'R(2+1)D')

#: Parameter counts the paper prints in Table 2 (18 layers, fc 400), in millions.
PAPER_TABLE2_PARAMS_M = {
    'R2D': 11.4, 'f-R2D': 11.4, 'R3D': 33.4, 'MC2': 11.4, 'MC3': 11.7, 'MC4': 12.7,
    'MC5': 16.9, 'rMC2': 33.3, 'rMC3': 33.0, 'rMC4': 32.0, 'rMC5': 27.9, 'R(2+1)D': 33.3
}


def paper_backbone(name: str, depth: int = 18, clip_len: int = 8, in_channels: int = 3,
                   **overrides) -> dict:
    """The backbone config of a network named as in the paper.

    Args:
        name (str): one of ``'R2D', 'f-R2D', 'R3D', 'MC2'..'MC5', 'rMC2'..'rMC5',
            'R(2+1)D'``.
        depth (int): 10, 16, 18, 26 or 34.
        clip_len (int): frames per clip (R2D's conv1 spans them all; VMZ's short-clip rule).
        in_channels (int): 3 for RGB, 2 for optical flow.
        **overrides: any other ``SpatioTemporalResNet`` argument.

    Returns:
        dict: a config for ``mmaction.registry.MODELS.build``.
    """
    if name not in PAPER_PRESETS:
        raise KeyError(f'unknown network {name!r}; the paper names are {list(PAPER_NAMES)}')
    return dict(PAPER_PRESETS[name], depth=depth, clip_len=clip_len,
                in_channels=in_channels, **overrides)
