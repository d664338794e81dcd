"""The networks of the paper as registered classes, their paper names, and ``paper_backbone``.

Each network is a plain subclass of the builder: a network with one set of conv kinds fixes
them in the class attribute ``fixed_group_convs``; the MCx / rMCx families compute theirs
from ``switch_group``. Groups are numbered as in the paper's Table 1: 1 = conv1,
2..5 = conv2_x..conv5_x.
"""
from typing import Dict, Tuple

from mmaction.registry import MODELS
from .resnet import NUM_GROUPS, SpatioTemporalResNet

#: The x of MCx / rMCx: the group where the conv kind switches.
SWITCH_GROUPS = range(2, NUM_GROUPS + 1)


def mixed_group_convs(switch_group: int, reversed_: bool = False) -> Tuple[str, ...]:
    """MCx: 3D in groups 1..x-1, 2D in groups x..5; rMCx (``reversed_``) the opposite."""
    if switch_group not in SWITCH_GROUPS:
        raise ValueError(f'switch_group (the x of MCx / rMCx) must be 2..5, got '
                         f'{switch_group}')
    early, late = ('2d', '3d') if reversed_ else ('3d', '2d')
    return tuple(early if group < switch_group else late
                 for group in range(1, NUM_GROUPS + 1))


@MODELS.register_module()
class R2DResNet(SpatioTemporalResNet):
    """R2D: conv1 (L x 7 x 7, no temporal padding) collapses the clip; 2D convs after it.

    ``SpatioTemporalResNet`` with these conv kinds fixed; needs ``clip_len``.
    """

    paper_name = 'R2D'
    fixed_group_convs = ('r2d', ) + ('2d', ) * (NUM_GROUPS - 1)


@MODELS.register_module()
class FR2DResNet(SpatioTemporalResNet):
    """f-R2D: every conv 2D (1 x d x d) on each frame; frames meet only in the final pool.

    ``SpatioTemporalResNet`` with these conv kinds fixed.
    """

    paper_name = 'f-R2D'
    fixed_group_convs = ('2d', ) * NUM_GROUPS


@MODELS.register_module()
class R3DResNet(SpatioTemporalResNet):
    """R3D: every conv a full t x d x d 3D conv.

    ``SpatioTemporalResNet`` with these conv kinds fixed.
    """

    paper_name = 'R3D'
    fixed_group_convs = ('3d', ) * NUM_GROUPS


@MODELS.register_module()
class ResNet2Plus1dHomog(SpatioTemporalResNet):
    """R(2+1)D: every conv factorised into 1 x d x d then t x 1 x 1 (homogeneous).

    ``SpatioTemporalResNet`` with these conv kinds fixed.
    """

    paper_name = 'R(2+1)D'
    fixed_group_convs = ('2plus1d', ) * NUM_GROUPS


@MODELS.register_module()
class MixedConvResNet(SpatioTemporalResNet):
    """MCx: 3D convs in groups 1..x-1 and 2D convs in groups x..5 (x = ``switch_group``).

    Args:
        switch_group (int): the x of MCx, 2..5 (MC3: conv1 and conv2_x are 3D). Default: 3.
        **kwargs: the other arguments of ``SpatioTemporalResNet``.
    """

    paper_name = 'MC{}'  # MC2..MC5: the x is switch_group
    reversed_mix = False

    def __init__(self, switch_group: int = 3, **kwargs) -> None:
        self.switch_group = switch_group
        super().__init__(
            group_convs=mixed_group_convs(switch_group, self.reversed_mix), **kwargs)


@MODELS.register_module()
class ReversedMixedConvResNet(MixedConvResNet):
    """rMCx: 2D convs in groups 1..x-1 and 3D convs in groups x..5 (x = ``switch_group``).

    Args:
        switch_group (int): the x of rMCx, 2..5 (rMC3: conv1 and conv2_x are 2D). Default: 3.
        **kwargs: the other arguments of ``SpatioTemporalResNet``.
    """

    paper_name = 'rMC{}'
    reversed_mix = True


def _paper_presets() -> Dict[str, dict]:
    """Paper name -> backbone config, in the row order of the paper's Table 2."""
    presets = {}
    for cls in (R2DResNet, FR2DResNet, R3DResNet, MixedConvResNet, ReversedMixedConvResNet,
                ResNet2Plus1dHomog):
        if issubclass(cls, MixedConvResNet):
            presets.update({cls.paper_name.format(x): dict(type=cls.__name__, switch_group=x)
                            for x in SWITCH_GROUPS})
        else:
            presets[cls.paper_name] = dict(type=cls.__name__)
    return presets


#: The twelve networks of the paper's Table 2, by the paper's names, in its row order.
PAPER_PRESETS = _paper_presets()
PAPER_NAMES = tuple(PAPER_PRESETS)

#: Parameter counts the paper prints in Table 2 (18 layers, fc 400), in millions.
PAPER_TABLE2_PARAMS_M = {
    'R2D': 11.4, 'f-R2D': 11.4, 'R3D': 33.4, 'MC2': 11.4, 'MC3': 11.7, 'MC4': 12.7,
    'MC5': 16.9, 'rMC2': 33.3, 'rMC3': 33.0, 'rMC4': 32.0, 'rMC5': 27.9, 'R(2+1)D': 33.3
}


def paper_backbone(name: str, depth: int = 18, clip_len: int = 8, in_channels: int = 3,
                   **overrides) -> dict:
    """The backbone config of a network named as in the paper.

    Args:
        name (str): one of ``PAPER_NAMES``: ``'R2D', 'f-R2D', 'R3D', 'MC2'..'MC5',
            'rMC2'..'rMC5', 'R(2+1)D'``.
        depth (int): 10, 16, 18, 26 or 34. Default: 18.
        clip_len (int): frames per clip (R2D's conv1 spans them all; VMZ's short-clip rule).
            Default: 8.
        in_channels (int): 3 for RGB, 2 for optical flow. Default: 3.
        **overrides: any other ``SpatioTemporalResNet`` argument.

    Returns:
        dict: a config for ``mmaction.registry.MODELS.build``.
    """
    if name not in PAPER_PRESETS:
        raise KeyError(f'unknown network {name!r}; the paper names are {list(PAPER_NAMES)}')
    return dict(PAPER_PRESETS[name], depth=depth, clip_len=clip_len,
                in_channels=in_channels, **overrides)
