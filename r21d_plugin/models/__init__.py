from .convs import (CONV_KINDS, CollapsingConv3d, Conv2Plus1d, FullConv3d, SpatialConv3d,
                    factorized_mid_channels)
from .complexity import backbone_complexity, complexity_table
from .presets import (PAPER_NAMES, PAPER_PRESETS, PAPER_TABLE2_PARAMS_M, FR2DResNet, MixedConvResNet,
                      R2DResNet, R3DResNet, ResNet2Plus1dHomog, ReversedMixedConvResNet,
                      mixed_group_convs, paper_backbone)
from .recognizers import MultiClipRecognizer3D
from .resnet import STAGE_BLOCKS, BasicBlock3d, SpatioTemporalResNet
from .two_stream import TwoStreamRecognizer  # noqa: F401

__all__ = [
    'CONV_KINDS', 'CollapsingConv3d', 'Conv2Plus1d', 'FullConv3d', 'SpatialConv3d',
    'factorized_mid_channels', 'backbone_complexity', 'complexity_table', 'PAPER_NAMES',
    'PAPER_PRESETS', 'PAPER_TABLE2_PARAMS_M', 'FR2DResNet',
    'MixedConvResNet', 'R2DResNet', 'R3DResNet', 'ResNet2Plus1dHomog',
    'ReversedMixedConvResNet', 'mixed_group_convs', 'paper_backbone', 'STAGE_BLOCKS',
    'BasicBlock3d', 'SpatioTemporalResNet', 'MultiClipRecognizer3D'
]
