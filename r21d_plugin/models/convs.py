"""The conv kinds of the paper: 2D, 3D, (2+1)D, and R2D's time-collapsing stem.

Each kind is a module class that also says whether it strides in time when its group
downsamples (``strides_in_time``): a 2D conv never does, so an MCx or rMCx network gets the
paper's temporal sizes from its conv kinds alone. The spatiotemporal ResNet builder picks a
kind per group by the names in ``CONV_KINDS``.

All kinds share one keyword-only constructor, so the builder treats them alike and every
call names its sizes::

    Kind(in_channels=..., out_channels=..., spatial_kernel=..., temporal_kernel=...,
         spatial_stride=1, temporal_stride=1, mid_channels=None, norm_cfg=None, act_cfg=None)

Every kind also answers ``forward_with_norm(x, norm, act=None)``: ``act(norm(conv(x)))``.
These are the paper's definitions only; ``fast_paths`` may compute the same values faster
(BatchNorm folded into the conv in eval, a fused ReLU, a tap-wise weight gradient, 1 x d x d
convs as 2D convs on frames in training), behind
one switch, and steps aside to the plain computation written here whenever it does not apply.
"""
from typing import Dict, Optional, Tuple, Type

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from . import fast_paths

#: A conv's (kernel_size, stride, padding), each (time, height, width).
Geometry = Tuple[Tuple[int, int, int], Tuple[int, int, int], Tuple[int, int, int]]


def factorized_mid_channels(in_channels: int, out_channels: int,
                            temporal_kernel: int = 3,
                            spatial_kernel: int = 3) -> int:
    """The paper's M_i: (2+1)D mid channels that keep the 3D conv's parameter count.

    ``M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out))`` (Tran et al., section 3.5).
    """
    t, d2 = temporal_kernel, spatial_kernel * spatial_kernel
    return (t * d2 * in_channels * out_channels) // (
        d2 * in_channels + t * out_channels)


class FoldableConv3d(nn.Conv3d):
    """An ``nn.Conv3d`` that also computes ``act(norm(conv(x)))`` as one step.

    ``forward_with_norm`` lets ``fast_paths`` fold an eval-mode BatchNorm into the conv (and
    fuse a ReLU in CPU inference) and otherwise runs the three modules in turn.
    ``fold_norm`` (default True; the backbone's ``fold_bn``) turns folding off for this conv.
    """

    fold_norm = True

    def forward_with_norm(self, x: torch.Tensor, norm: nn.Module,
                          act: Optional[nn.Module] = None) -> torch.Tensor:
        """``act(norm(self(x)))`` (no ``act``: ``norm(self(x))``)."""
        fast = fast_paths.conv_norm_act(self, x, norm, act)
        if fast is not None:
            return fast
        out = norm(self(x))
        return out if act is None else act(out)

    def _check_input(self, x: torch.Tensor) -> None:
        """Refuse inputs the conv would silently misread (see ``CollapsingConv3d``)."""

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor,
                      bias: Optional[torch.Tensor]) -> torch.Tensor:
        self._check_input(x)
        return super()._conv_forward(x, weight, bias)


class SingleConv3d(FoldableConv3d):
    """A conv kind that is one ``Conv3d`` (no bias): the kinds' shared keyword-only
    constructor, with the kernel, stride and padding from the kind's ``geometry``.
    ``mid_channels``, ``norm_cfg`` and ``act_cfg`` are taken (the builder passes every kind
    the same arguments) and unused. ``temporal_kernel`` is required where ``geometry`` uses it.
    """

    def __init__(self, *, in_channels: int, out_channels: int, spatial_kernel: int,
                 temporal_kernel: Optional[int] = None, spatial_stride: int = 1,
                 temporal_stride: int = 1, mid_channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None) -> None:
        kernel, stride, padding = self.geometry(spatial_kernel, temporal_kernel,
                                                spatial_stride, temporal_stride)
        super().__init__(in_channels, out_channels, kernel_size=kernel, stride=stride,
                         padding=padding, bias=False)

    @staticmethod
    def geometry(spatial_kernel: int, temporal_kernel: int, spatial_stride: int,
                 temporal_stride: int) -> Geometry:
        """(kernel_size, stride, padding) of the conv, each (time, height, width)."""
        raise NotImplementedError


class FullConv3d(SingleConv3d):
    """A t x d x d convolution (R3D's conv); strides 2x2x2 when its group downsamples."""

    strides_in_time = True

    @staticmethod
    def geometry(spatial_kernel: int, temporal_kernel: int, spatial_stride: int,
                 temporal_stride: int) -> Geometry:
        return ((temporal_kernel, spatial_kernel, spatial_kernel),
                (temporal_stride, spatial_stride, spatial_stride),
                (temporal_kernel // 2, spatial_kernel // 2, spatial_kernel // 2))


class SpatialConv3d(SingleConv3d):
    """A 1 x d x d convolution: a 2D conv applied to every frame with the same filters.

    Never strides in time (its downsampling is 1x2x2), whatever the group asks. In CPU
    float32 training ``fast_paths.framewise_spatial_conv`` runs it as that 2D conv.
    """

    strides_in_time = False

    @staticmethod
    def geometry(spatial_kernel: int, temporal_kernel: int, spatial_stride: int,
                 temporal_stride: int) -> Geometry:
        return ((1, spatial_kernel, spatial_kernel), (1, spatial_stride, spatial_stride),
                (0, spatial_kernel // 2, spatial_kernel // 2))

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor,
                      bias: Optional[torch.Tensor]) -> torch.Tensor:
        fast = fast_paths.framewise_spatial_conv(self, x, weight, bias)
        return fast if fast is not None else super()._conv_forward(x, weight, bias)


class CollapsingConv3d(SingleConv3d):
    """R2D's conv1: an L x d x d kernel with no temporal padding.

    The clip's L frames are treated as 3L channels of one image, so time collapses to 1.
    ``temporal_kernel`` is the clip length; a clip of another length is refused, since
    the conv would otherwise silently slide over time.
    """

    strides_in_time = False

    @staticmethod
    def geometry(spatial_kernel: int, temporal_kernel: int, spatial_stride: int,
                 temporal_stride: int) -> Geometry:
        return ((temporal_kernel, spatial_kernel, spatial_kernel),
                (1, spatial_stride, spatial_stride), (0, spatial_kernel // 2, spatial_kernel // 2))

    def _check_input(self, x: torch.Tensor) -> None:
        if x.shape[2] != self.kernel_size[0]:
            raise ValueError(
                f'R2D collapses exactly clip_len={self.kernel_size[0]} frames at conv1, '
                f'got a clip of {x.shape[2]} frames; build the backbone with '
                f'clip_len={x.shape[2]}.')


class TemporalConv3d(FoldableConv3d):
    """The t x 1 x 1 convolution of a (2+1)D conv (padding t // 2, no bias).

    In CPU float32 training ``fast_paths.tapwise_temporal_conv`` computes its weight
    gradient tap by tap; everywhere else it is a plain ``nn.Conv3d``.
    """

    def __init__(self, *, in_channels: int, out_channels: int, temporal_kernel: int,
                 temporal_stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size=(temporal_kernel, 1, 1),
                         stride=(temporal_stride, 1, 1),
                         padding=(temporal_kernel // 2, 0, 0), bias=False)

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor,
                      bias: Optional[torch.Tensor]) -> torch.Tensor:
        fast = fast_paths.tapwise_temporal_conv(self, x, weight, bias)
        return fast if fast is not None else super()._conv_forward(x, weight, bias)


class Conv2Plus1d(nn.Module):
    """A (2+1)D conv: 1 x d x d spatial conv to ``mid_channels``, norm, activation,
    then t x 1 x 1 temporal conv. Spatial stride goes to the 2D part, temporal stride
    to the 1D part; strides 2x2x2 when its group downsamples.
    """

    strides_in_time = True

    def __init__(self, *, in_channels: int, out_channels: int, spatial_kernel: int,
                 temporal_kernel: int, spatial_stride: int = 1,
                 temporal_stride: int = 1, mid_channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if mid_channels is None:
            mid_channels = factorized_mid_channels(
                in_channels, out_channels, temporal_kernel, spatial_kernel)
        self.spatial = SpatialConv3d(in_channels=in_channels, out_channels=mid_channels,
                                     spatial_kernel=spatial_kernel,
                                     spatial_stride=spatial_stride)
        self.mid_norm = build_norm_layer(norm_cfg or dict(type='BN3d'), mid_channels)[1]
        self.mid_act = build_activation_layer(act_cfg or dict(type='ReLU'))
        self.temporal = TemporalConv3d(in_channels=mid_channels, out_channels=out_channels,
                                       temporal_kernel=temporal_kernel,
                                       temporal_stride=temporal_stride)

    @property
    def mid_channels(self) -> int:
        return self.spatial.out_channels

    def _spatial_part(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial.forward_with_norm(x, self.mid_norm, self.mid_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.temporal(self._spatial_part(x))

    def forward_with_norm(self, x: torch.Tensor, norm: nn.Module,
                          act: Optional[nn.Module] = None) -> torch.Tensor:
        """``act(norm(self(x)))``, with both BatchNorms folded into their convs in eval
        mode."""
        return self.temporal.forward_with_norm(self._spatial_part(x), norm, act)


#: Conv kind names used by configs and presets.
CONV_KINDS: Dict[str, Type[nn.Module]] = {
    '2d': SpatialConv3d,
    '3d': FullConv3d,
    '2plus1d': Conv2Plus1d,
    'r2d': CollapsingConv3d,  # only valid as the stem (group 1)
}
