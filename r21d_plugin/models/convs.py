"""The conv kinds of the paper: 2D, 3D, (2+1)D, and R2D's time-collapsing stem.

Each kind is a module class that also says whether it strides in time when its group
downsamples (``strides_in_time``): a 2D conv never does, so an MCx or rMCx network gets the
paper's temporal sizes from its conv kinds alone. The spatiotemporal ResNet builder picks a
kind per group by the names in ``CONV_KINDS``.

All kinds share one constructor signature so the builder can treat them alike::

    Kind(in_channels, out_channels, spatial_kernel, temporal_kernel,
         spatial_stride, temporal_stride, mid_channels, norm_cfg, act_cfg)

Every kind also answers ``forward_with_norm(x, norm, act=None)``: ``act(norm(conv(x)))``,
computed as a single convolution when ``norm`` is a BatchNorm in eval mode (its running
statistics and affine parameters folded into the conv's weight and bias, on the fly, so
parameters and state dicts stay as they are and training is untouched), with a ReLU ``act``
fused into that convolution in CPU inference.
"""
from typing import Dict, Optional, Tuple, Type

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch.autograd.function import once_differentiable
from torch.nn.modules.batchnorm import _BatchNorm


def factorized_mid_channels(in_channels: int, out_channels: int,
                            temporal_kernel: int = 3,
                            spatial_kernel: int = 3) -> int:
    """The paper's M_i: (2+1)D mid channels that keep the 3D conv's parameter count.

    ``M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out))`` (Tran et al., section 3.5).
    """
    t, d2 = temporal_kernel, spatial_kernel * spatial_kernel
    return (t * d2 * in_channels * out_channels) // (
        d2 * in_channels + t * out_channels)


def is_foldable_norm(norm: nn.Module) -> bool:
    """Whether ``norm`` is a BatchNorm that normalises with fixed statistics (eval mode)."""
    return (isinstance(norm, _BatchNorm) and not norm.training
            and norm.running_var is not None)


def fold_batch_norm(weight: torch.Tensor, bias: Optional[torch.Tensor],
                    norm: _BatchNorm) -> Tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of one conv equal to ``conv`` followed by ``norm`` in eval mode.

    Differentiable in the conv's and the norm's parameters, so it also serves frozen-norm
    fine-tuning (``norm_eval``).
    """
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if bias is not None:
        shift = shift + bias * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return weight * scale.reshape(-1, *([1] * (weight.dim() - 1))), shift


def has_forward_hooks(module: nn.Module) -> bool:
    """Whether anything observes ``module``'s calls (its own or global forward hooks)."""
    return bool(module._forward_hooks or module._forward_pre_hooks
                or nn.modules.module._global_forward_hooks
                or nn.modules.module._global_forward_pre_hooks)


def records_grad(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether autograd records a conv of ``x`` with ``weight`` (so it needs a backward)."""
    return torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)


def cpu_autocast_dtype() -> Optional[torch.dtype]:
    """The dtype CPU autocast computes in where it is on, else None."""
    if hasattr(torch, 'get_autocast_dtype'):  # torch >= 2.4
        return (torch.get_autocast_dtype('cpu') if torch.is_autocast_enabled('cpu')
                else None)
    return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None


# oneDNN's convolution with a fused element-wise post-op (what inductor emits on CPU).
_CONV_POINTWISE = (getattr(torch.ops.mkldnn, '_convolution_pointwise', None)
                   if torch.backends.mkldnn.is_available() else None)


def conv_relu_on_cpu(conv: 'FoldableConv3d', x: torch.Tensor, weight: torch.Tensor,
                     bias: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """``relu(conv(x))`` with ``conv``'s geometry as one oneDNN call, where that applies.

    The ReLU runs as the convolution's post-op, so the output is written once instead of
    being read and written again: the ReLUs were 15% of R(2+1)D-18's bfloat16 inference on
    CPU. Applies in CPU inference (the fused op has no backward) on NDHWC inputs in float32
    or bfloat16 (under CPU autocast, its dtype); returns None elsewhere.
    """
    if (_CONV_POINTWISE is None or x.device.type != 'cpu' or conv.padding_mode != 'zeros'
            or records_grad(x, weight)
            or not x.is_contiguous(memory_format=torch.channels_last_3d)):
        return None
    dtype = cpu_autocast_dtype() or x.dtype
    if dtype not in (torch.float32, torch.bfloat16):
        return None
    conv._check_input(x)
    return _CONV_POINTWISE(
        x.to(dtype), weight.to(dtype), None if bias is None else bias.to(dtype),
        list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups, 'relu', [],
        '')


class FoldableConv3d(nn.Conv3d):
    """An ``nn.Conv3d`` that can absorb the eval-mode BatchNorm after it.

    Folding scales the weight instead of the output: it pays where the output is the larger
    tensor (early layers, large inputs), so it is used only there; elsewhere the norm runs as
    usual. It steps aside whenever a forward hook observes the conv or the norm (feature
    extractors, hook-based FLOP counters see the plain path). Nothing is cached, so weights
    changed in any way (optimizers, loaders, EMA updates through ``.data``) are always seen.
    ``fold_norm`` (default True) turns folding off, e.g. to compare with the plain path.
    A folded conv followed by a plain ``nn.ReLU`` runs with the ReLU fused in
    (``conv_relu_on_cpu``) in CPU inference.
    """

    fold_norm = True

    def forward_with_norm(self, x: torch.Tensor, norm: nn.Module,
                          act: Optional[nn.Module] = None) -> torch.Tensor:
        """``act(norm(self(x)))`` (no ``act``: ``norm(self(x))``); one conv with folded
        weights when the norm allows it."""
        if (self.fold_norm and is_foldable_norm(norm) and not has_forward_hooks(self)
                and not has_forward_hooks(norm)
                and self.weight.numel() < self._output_numel(x)):
            weight, bias = fold_batch_norm(self.weight, self.bias, norm)
            if type(act) is nn.ReLU and not has_forward_hooks(act):
                fused = conv_relu_on_cpu(self, x, weight, bias)
                if fused is not None:
                    return fused
            out = self._conv_forward(x, weight, bias)
        else:
            out = norm(self(x))
        return out if act is None else act(out)

    def _check_input(self, x: torch.Tensor) -> None:
        """Refuse inputs the conv would silently misread (see ``CollapsingConv3d``)."""

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor,
                      bias: Optional[torch.Tensor]) -> torch.Tensor:
        self._check_input(x)
        return super()._conv_forward(x, weight, bias)

    def _output_numel(self, x: torch.Tensor) -> int:
        """About how many values the conv outputs (its padding keeps sizes over strides)."""
        strides = self.stride[0] * self.stride[1] * self.stride[2]
        return x.numel() // x.shape[1] * self.out_channels // strides


class FullConv3d(FoldableConv3d):
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


class SpatialConv3d(FoldableConv3d):
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


class CollapsingConv3d(FoldableConv3d):
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

    def _check_input(self, x: torch.Tensor) -> None:
        if x.shape[2] != self.kernel_size[0]:
            raise ValueError(
                f'R2D collapses exactly clip_len={self.kernel_size[0]} frames at conv1, '
                f'got a clip of {x.shape[2]} frames; build the backbone with '
                f'clip_len={x.shape[2]}.')


def temporal_weight_grad(grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor,
                         stride: int, padding: int) -> torch.Tensor:
    """The weight gradient of a t x 1 x 1 convolution, one batched matmul per temporal tap.

    Tap ``k`` pairs output frame ``i`` with input frame ``i * stride + k - padding``; on
    NDHWC tensors both sides are views of ``(N, frames * H * W, C)`` rows (a copy only for
    the strided input of a temporally strided conv), so each tap is a matmul over all
    frames and pixels of a clip, summed over the batch.
    """
    batch, out_channels, out_frames = grad_out.shape[:3]
    in_channels, in_frames = x.shape[1:3]
    grad_rows = grad_out.permute(0, 2, 3, 4, 1)  # views: (N, T, H, W, C)
    x_rows = x.permute(0, 2, 3, 4, 1)
    grad_weight = torch.zeros_like(weight)
    for tap in range(weight.shape[2]):
        shift = tap - padding
        # The output frames whose input frame for this tap lies inside the clip.
        first = max(0, -(shift // stride))
        end = min(out_frames, (in_frames - 1 - shift) // stride + 1)
        if end <= first:
            continue
        grads = grad_rows[:, first:end].reshape(batch, -1, out_channels)
        inputs = x_rows[:, first * stride + shift:(end - 1) * stride + shift + 1:stride]
        grad_weight[:, :, tap, 0, 0] = torch.bmm(
            grads.transpose(1, 2), inputs.reshape(batch, -1, in_channels)).sum(0)
    return grad_weight


class _TapwiseWeightGradConv(torch.autograd.Function):
    """A t x 1 x 1 conv whose backward computes the weight gradient tap by tap."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                stride: int, padding: int) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding
        return F.conv3d(x, weight, bias, (stride, 1, 1), (padding, 0, 0))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad_out = grad_out.contiguous(memory_format=torch.channels_last_3d)
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad_out, x, weight, None, (ctx.stride, 1, 1), (ctx.padding, 0, 0),
                (1, 1, 1), False, (0, 0, 0), 1, (True, False, False))[0]
        if ctx.needs_input_grad[1]:
            grad_weight = temporal_weight_grad(grad_out, x, weight, ctx.stride, ctx.padding)
        if ctx.needs_input_grad[2]:
            grad_bias = grad_out.sum(dim=(0, 2, 3, 4))
        return grad_x, grad_weight, grad_bias, None, None


class TemporalConv3d(FoldableConv3d):
    """The t x 1 x 1 convolution of a (2+1)D conv (padding t // 2, no bias).

    On CPU in float32 with NDHWC activations, its weight gradient is computed as one batched
    matmul per temporal tap (``temporal_weight_grad``): oneDNN's weight-gradient kernel for
    this shape runs at about half the speed of the forward (R(2+1)D-18's conv2_x, batch 4:
    89 ms against 41 ms; tap-wise 59 ms), and this conv's backward was R(2+1)D's second
    largest cost in training. Same values to float32 rounding; elsewhere (CUDA, autocast,
    where oneDNN's bfloat16 kernel is the faster, contiguous inputs, no grad) it is a plain
    ``nn.Conv3d``. The fast backward is once-differentiable (no double backward).
    """

    def __init__(self, in_channels: int, out_channels: int, temporal_kernel: int,
                 temporal_stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size=(temporal_kernel, 1, 1),
                         stride=(temporal_stride, 1, 1),
                         padding=(temporal_kernel // 2, 0, 0), bias=False)

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor,
                      bias: Optional[torch.Tensor]) -> torch.Tensor:
        if (records_grad(x, weight) and x.device.type == 'cpu'
                and x.dtype == weight.dtype == torch.float32 and cpu_autocast_dtype() is None
                and x.is_contiguous(memory_format=torch.channels_last_3d)):
            return _TapwiseWeightGradConv.apply(x, weight, bias, self.stride[0],
                                                self.padding[0])
        return super()._conv_forward(x, weight, bias)


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
        self.temporal = TemporalConv3d(mid_channels, out_channels, temporal_kernel,
                                       temporal_stride)

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
