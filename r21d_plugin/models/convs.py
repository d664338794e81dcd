"""The conv kinds of the paper: 2D, 3D, (2+1)D, and R2D's time-collapsing stem.

Each kind is a module class that also says whether it strides in time when its group
downsamples (``strides_in_time``): a 2D conv never does, so an MCx or rMCx network gets the
paper's temporal sizes from its conv kinds alone. The spatiotemporal ResNet builder picks a
kind per group by the names in ``CONV_KINDS``.

All kinds share one constructor signature so the builder can treat them alike::

    Kind(in_channels, out_channels, spatial_kernel, temporal_kernel,
         spatial_stride, temporal_stride, mid_channels, norm_cfg, act_cfg)
"""
from typing import Dict, Optional, Type

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer


def factorized_mid_channels(in_channels: int, out_channels: int,
                            temporal_kernel: int = 3,
                            spatial_kernel: int = 3) -> int:
    """The paper's M_i: (2+1)D mid channels that keep the 3D conv's parameter count.

    ``M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out))`` (Tran et al., section 3.5).
    """
    t, d2 = temporal_kernel, spatial_kernel * spatial_kernel
    return (t * d2 * in_channels * out_channels) // (
        d2 * in_channels + t * out_channels)


class FullConv3d(nn.Conv3d):
    """A t x d x d convolution (R3D's conv); strides 2x2x2 when its group downsamples."""

    strides_in_time = True

    def __init__(self, in_channels: int, out_channels: int, spatial_kernel: int,
                 temporal_kernel: int, spatial_stride: int = 1,
                 temporal_stride: int = 1, mid_channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None) -> None:
        super().__init__(
            in_channels, out_channels,
            kernel_size=(temporal_kernel, spatial_kernel, spatial_kernel),
            stride=(temporal_stride, spatial_stride, spatial_stride),
            padding=(temporal_kernel // 2, spatial_kernel // 2, spatial_kernel // 2),
            bias=False)


class SpatialConv3d(nn.Conv3d):
    """A 1 x d x d convolution: a 2D conv applied to every frame with the same filters.

    Never strides in time (its downsampling is 1x2x2), whatever the group asks.
    """

    strides_in_time = False

    def __init__(self, in_channels: int, out_channels: int, spatial_kernel: int,
                 temporal_kernel: int = 1, spatial_stride: int = 1,
                 temporal_stride: int = 1, mid_channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None) -> None:
        super().__init__(
            in_channels, out_channels,
            kernel_size=(1, spatial_kernel, spatial_kernel),
            stride=(1, spatial_stride, spatial_stride),
            padding=(0, spatial_kernel // 2, spatial_kernel // 2),
            bias=False)


class CollapsingConv3d(nn.Conv3d):
    """R2D's conv1: an L x d x d kernel with no temporal padding.

    The clip's L frames are treated as 3L channels of one image, so time collapses to 1.
    ``temporal_kernel`` is the clip length; a clip of another length is refused, since
    the conv would otherwise silently slide over time.
    """

    strides_in_time = False

    def __init__(self, in_channels: int, out_channels: int, spatial_kernel: int,
                 temporal_kernel: int, spatial_stride: int = 1,
                 temporal_stride: int = 1, mid_channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None) -> None:
        super().__init__(
            in_channels, out_channels,
            kernel_size=(temporal_kernel, spatial_kernel, spatial_kernel),
            stride=(1, spatial_stride, spatial_stride),
            padding=(0, spatial_kernel // 2, spatial_kernel // 2),
            bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[2] != self.kernel_size[0]:
            raise ValueError(
                f'R2D collapses exactly clip_len={self.kernel_size[0]} frames at conv1, '
                f'got a clip of {x.shape[2]} frames; build the backbone with '
                f'clip_len={x.shape[2]}.')
        return super().forward(x)


class Conv2Plus1d(nn.Module):
    """A (2+1)D conv: 1 x d x d spatial conv to ``mid_channels``, norm, activation,
    then t x 1 x 1 temporal conv. Spatial stride goes to the 2D part, temporal stride
    to the 1D part; strides 2x2x2 when its group downsamples.
    """

    strides_in_time = True

    def __init__(self, in_channels: int, out_channels: int, spatial_kernel: int,
                 temporal_kernel: int, spatial_stride: int = 1,
                 temporal_stride: int = 1, mid_channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if mid_channels is None:
            mid_channels = factorized_mid_channels(
                in_channels, out_channels, temporal_kernel, spatial_kernel)
        self.spatial = SpatialConv3d(in_channels, mid_channels, spatial_kernel,
                                     spatial_stride=spatial_stride)
        self.mid_norm = build_norm_layer(norm_cfg or dict(type='BN3d'), mid_channels)[1]
        self.mid_act = build_activation_layer(act_cfg or dict(type='ReLU'))
        self.temporal = nn.Conv3d(
            mid_channels, out_channels, kernel_size=(temporal_kernel, 1, 1),
            stride=(temporal_stride, 1, 1), padding=(temporal_kernel // 2, 0, 0),
            bias=False)

    @property
    def mid_channels(self) -> int:
        return self.spatial.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.temporal(self.mid_act(self.mid_norm(self.spatial(x))))


#: Conv kind names used by configs and presets.
CONV_KINDS: Dict[str, Type[nn.Module]] = {
    '2d': SpatialConv3d,
    '3d': FullConv3d,
    '2plus1d': Conv2Plus1d,
    'r2d': CollapsingConv3d,  # only valid as the stem (group 1)
}
