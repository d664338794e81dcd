"""The compared models: classifiers around backbones, and peers built to our networks'
architecture (MMAction2's ResNet3d / ResNet2Plus1d, torchvision's VideoResNet and 2D ResNets).
"""
from typing import List, Optional

import torch
import torch.nn as nn

from ..engine.device import autocast
from ..models import STAGE_BLOCKS, SpatioTemporalResNet


class PooledClassifier(nn.Module):
    """A backbone's feature map, global average pooling, one fc: clip logits."""

    def __init__(self, backbone: nn.Module, feat_dim: int, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(feat_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.backbone(x).mean(dim=(2, 3, 4)))


class FramewiseClassifier(nn.Module):
    """A 2D network on every frame; clip logits are the mean over frames.

    Equal to f-R2D's "fuse by the final global pooling" since the fc is linear.
    """

    def __init__(self, net2d: nn.Module) -> None:
        super().__init__()
        self.net2d = net2d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        # A view (no copy) when x is channels_last_3d.
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)
        return self.net2d(frames).view(n, t, -1).mean(dim=1)


class StackedFramesClassifier(nn.Module):
    """A 2D network on the clip's frames stacked as channels (R2D: C*L input channels)."""

    def __init__(self, net2d: nn.Module) -> None:
        super().__init__()
        self.net2d = net2d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        return self.net2d(x.reshape(n, c * t, h, w))


class Prepared(nn.Module):
    """Runs a model with its input in a memory format and under autocast; float32 logits."""

    def __init__(self, model: nn.Module, memory_format: torch.memory_format,
                 autocast_dtype: Optional[torch.dtype], device_type: str) -> None:
        super().__init__()
        self.model = model
        self.memory_format = memory_format
        self.autocast_dtype = autocast_dtype
        self.device_type = device_type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=self.memory_format)
        with autocast(self.device_type, self.autocast_dtype):
            return self.model(x).float()


def stage_temporal_strides(ours: SpatioTemporalResNet) -> List[int]:
    """The temporal stride of each of the four stages, read from the built network."""
    strides = []
    for name in ours.res_layers:
        block = getattr(ours, name)[0]
        strides.append(block.downsample.conv.stride[0] if block.downsample is not None
                       else 1)
    return strides


def mmaction_peer_cfg(ours: SpatioTemporalResNet) -> Optional[dict]:
    """MMAction2's ``ResNet3d`` / ``ResNet2Plus1d`` config of our network's architecture.

    None for R2D (``ResNet3d`` pads its stem in time, so it cannot collapse the clip).
    """
    kinds = ours.group_convs
    if kinds[0] == 'r2d':
        return None
    common = dict(
        # depth 18 picks the basic block; stage_blocks gives every depth of ours
        depth=18, stage_blocks=STAGE_BLOCKS[ours.depth], pretrained=None,
        pretrained2d=False, in_channels=ours.in_channels,
        base_channels=ours.base_channels, spatial_strides=(1, 2, 2, 2),
        temporal_strides=tuple(stage_temporal_strides(ours)), conv1_stride_t=1,
        with_pool1=False, with_pool2=False, norm_cfg=ours.norm_cfg,
        zero_init_residual=False)
    if set(kinds) == {'2plus1d'}:
        return dict(type='ResNet2Plus1d', conv_cfg=dict(type='Conv2plus1d'),
                    conv1_kernel=(3, 7, 7), inflate=(1, 1, 1, 1), **common)
    if '2plus1d' in kinds:
        return None
    return dict(type='ResNet3d', conv1_kernel=(3 if kinds[0] == '3d' else 1, 7, 7),
                inflate=tuple(int(kind == '3d') for kind in kinds[1:]), **common)


def drop_stem_pool(backbone: nn.Module) -> nn.Module:
    # ResNet2Plus1d.forward max-pools after the stem whatever with_pool1 says; the paper
    # has no pooling there.
    if hasattr(backbone, 'maxpool'):
        backbone.maxpool = nn.Identity()
    return backbone


def torchvision_video_peer(ours: SpatioTemporalResNet, num_classes: int) -> Optional[nn.Module]:
    """torchvision's ``VideoResNet`` built to our network's conv kinds (None if it can't)."""
    from torchvision.models.video import resnet as tvr

    kinds = ours.group_convs
    blocks = {10: [1, 1, 1, 1], 16: [2, 2, 2, 1], 18: [2, 2, 2, 2], 26: [2, 3, 4, 3],
              34: [3, 4, 6, 3]}[ours.depth]
    makers = {'3d': tvr.Conv3DSimple, '2d': tvr.Conv3DNoTemporal, '2plus1d': tvr.Conv2Plus1D}
    if kinds[0] == 'r2d' or ours.base_channels != 64 or ours.in_channels != 3:
        return None  # torchvision's video stems are fixed: 3 -> 64 channels
    # torchvision strides a 3D / (2+1)D stage in time always; VMZ drops it for short clips.
    tv_strides = [1] + [2 if kind != '2d' else 1 for kind in kinds[2:]]
    if stage_temporal_strides(ours) != tv_strides:
        return None
    if kinds[0] == '3d':
        stem = tvr.BasicStem
    elif kinds[0] == '2plus1d':
        stem = tvr.R2Plus1dStem
    else:
        def stem():
            return nn.Sequential(
                nn.Conv3d(3, 64, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
                nn.BatchNorm3d(64), nn.ReLU(inplace=True))
    return tvr.VideoResNet(tvr.BasicBlock, [makers[k] for k in kinds[1:]], blocks, stem,
                           num_classes=num_classes)


def torchvision_frames_peer(ours: SpatioTemporalResNet,
                            num_classes: int) -> Optional[nn.Module]:
    """torchvision's 2D ``resnet18`` without max-pool: on frames (f-R2D), or on the clip's
    frames stacked as channels (R2D)."""
    from torchvision.models import resnet18, resnet34

    kinds = ours.group_convs
    if set(kinds[1:]) != {'2d'} or kinds[0] not in ('2d', 'r2d') or ours.depth not in (18, 34):
        return None
    net = (resnet18 if ours.depth == 18 else resnet34)(num_classes=num_classes)
    if ours.base_channels != 64:
        return None
    net.maxpool = nn.Identity()
    if kinds[0] == '2d':
        if ours.in_channels != 3:
            net.conv1 = nn.Conv2d(ours.in_channels, 64, 7, 2, 3, bias=False)
        return FramewiseClassifier(net)
    net.conv1 = nn.Conv2d(ours.in_channels * ours.clip_len, 64, 7, 2, 3, bias=False)
    return StackedFramesClassifier(net)
