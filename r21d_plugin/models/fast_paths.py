"""CPU speed code for the paper's convs, kept apart from their definitions (``convs``).

Four paths compute what ``convs`` defines, faster, with the same values to float rounding:

* **BatchNorm folding** (``conv_norm_act``): in eval, an eval-mode BatchNorm after a conv is
  folded into the conv's weight and bias on the fly (parameters and state dicts stay as
  they are; training is untouched).
* **Fused ReLU** (``conv_relu_on_cpu``): in CPU inference a folded conv followed by a ReLU
  runs as one oneDNN call with the ReLU as its post-op (``torch.ops.mkldnn``, private).
* **Tap-wise weight gradient** (``tapwise_temporal_conv``): in CPU float32 training a
  t x 1 x 1 conv computes its weight gradient as one batched matmul per temporal tap
  (oneDNN's kernel for that shape ran at half its forward's speed).
* **Frame-wise spatial conv** (``framewise_spatial_conv``): in CPU float32 training a
  1 x d x d conv runs as a 2D conv on the clip's frames, the (N T) frames of the NDHWC input
  viewed as one NHWC batch without a copy (on AVX2 CPUs oneDNN's 3D channels-last backward
  of this shape took about twice its 2D one's time).

One switch turns them all off: ``set_fast_paths(False)`` or ``with plain_paths():``. They
also step aside by themselves while a model is traced, scripted or exported (TorchScript,
ONNX, ``torch.export``), so an exported graph holds only standard operators, and wherever a
private torch API they use is missing from the running torch (each is looked up once,
guarded; ``None`` means the plain path). Every function returns ``None`` where it does not
apply, and the caller computes the plain way.
"""
import contextlib
from typing import Callable, Iterator, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable
from torch.nn.modules.batchnorm import _BatchNorm

_enabled = True


def set_fast_paths(enabled: bool) -> None:
    """Turn every fast path on or off for this process (default: on)."""
    global _enabled
    _enabled = bool(enabled)


@contextlib.contextmanager
def plain_paths() -> Iterator[None]:
    """Within the block, every conv computes the plain way (e.g. for export or a check)."""
    previous = _enabled
    set_fast_paths(False)
    try:
        yield
    finally:
        set_fast_paths(previous)


def _capturing_graph() -> bool:
    """Whether a tracer, the TorchScript compiler or an exporter is recording the model."""
    exporting = getattr(getattr(torch, 'compiler', None), 'is_exporting', None)
    return (torch.jit.is_tracing() or torch.jit.is_scripting()
            or torch.onnx.is_in_onnx_export() or bool(exporting and exporting()))


def fast_paths_active() -> bool:
    """Whether the fast paths may run now (the switch is on and no graph is captured)."""
    return _enabled and not _capturing_graph()


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


#: torch's global forward-hook tables (private, changed in place when hooks are added);
#: None where a torch lacks them.
_GLOBAL_HOOKS = tuple(getattr(nn.modules.module, name, None)
                      for name in ('_global_forward_hooks', '_global_forward_pre_hooks'))
_GLOBAL_HOOKS = None if any(table is None for table in _GLOBAL_HOOKS) else _GLOBAL_HOOKS


def has_forward_hooks(module: nn.Module) -> bool:
    """Whether anything observes ``module``'s calls (its own or global forward hooks).

    Where the global tables cannot be read, any module might be observed: yes.
    """
    if _GLOBAL_HOOKS is None:
        return True
    return bool(module._forward_hooks or module._forward_pre_hooks or any(_GLOBAL_HOOKS))


def records_grad(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether autograd records a conv of ``x`` with ``weight`` (so it needs a backward)."""
    return torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)


def cpu_autocast_dtype() -> Optional[torch.dtype]:
    """The dtype CPU autocast computes in where it is on, else None."""
    if hasattr(torch, 'get_autocast_dtype'):  # torch >= 2.4
        return (torch.get_autocast_dtype('cpu') if torch.is_autocast_enabled('cpu')
                else None)
    return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None


def _private_op(namespace: str, name: str) -> Optional[Callable]:
    """``torch.ops.<namespace>.<name>``, or None where this torch build lacks it."""
    try:
        return getattr(getattr(torch.ops, namespace), name)
    except (AttributeError, RuntimeError):
        return None


#: oneDNN's convolution with a fused element-wise post-op (what inductor emits on CPU).
_CONV_POINTWISE = (_private_op('mkldnn', '_convolution_pointwise')
                   if torch.backends.mkldnn.is_available() else None)
#: What the fused op computes in: oneDNN's bfloat16 kernels need AVX512 (BW, VL, DQ) or
#: AVX-NE-CONVERT; elsewhere it refuses bfloat16, while the plain conv runs it.
_bf16_supported = _private_op('mkldnn', '_is_mkldnn_bf16_supported')


def cpu_has_bfloat16_kernels() -> bool:
    """Whether oneDNN computes bfloat16 convolutions natively on this CPU.

    Elsewhere torch still runs them, through a reference kernel orders of magnitude slower.
    """
    return bool(_bf16_supported and _bf16_supported())


_FUSED_DTYPES = ((torch.float32, torch.bfloat16) if cpu_has_bfloat16_kernels()
                 else (torch.float32, ))
#: The input gradient of a convolution, as autograd computes it.
_CONV_BACKWARD = _private_op('aten', 'convolution_backward')


def conv_relu_on_cpu(conv: nn.Conv3d, x: torch.Tensor, weight: torch.Tensor,
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
    if dtype not in _FUSED_DTYPES:
        return None
    conv._check_input(x)
    return _CONV_POINTWISE(
        x.to(dtype), weight.to(dtype), None if bias is None else bias.to(dtype),
        list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups, 'relu', [],
        '')


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
            grad_x = _CONV_BACKWARD(
                grad_out, x, weight, None, (ctx.stride, 1, 1), (ctx.padding, 0, 0),
                (1, 1, 1), False, (0, 0, 0), 1, (True, False, False))[0]
        if ctx.needs_input_grad[1]:
            grad_weight = temporal_weight_grad(grad_out, x, weight, ctx.stride, ctx.padding)
        if ctx.needs_input_grad[2]:
            grad_bias = grad_out.sum(dim=(0, 2, 3, 4))
        return grad_x, grad_weight, grad_bias, None, None


def _output_numel(conv: nn.Conv3d, x: torch.Tensor) -> int:
    """About how many values ``conv`` outputs (its padding keeps sizes over strides)."""
    strides = conv.stride[0] * conv.stride[1] * conv.stride[2]
    return x.numel() // x.shape[1] * conv.out_channels // strides


def conv_norm_act(conv: nn.Conv3d, x: torch.Tensor, norm: nn.Module,
                  act: Optional[nn.Module]) -> Optional[torch.Tensor]:
    """``act(norm(conv(x)))`` as one conv with the norm folded in, where that applies.

    Folding scales the weight instead of the output: it pays where the output is the larger
    tensor (early layers, large inputs), so it is used only there. It steps aside whenever
    a forward hook observes the conv or the norm (feature extractors and hook-based FLOP
    counters see the plain path), and where ``conv.fold_norm`` is off. Nothing is cached, so
    weights changed in any way (optimizers, loaders, EMA updates) are always seen.
    """
    if not (fast_paths_active() and getattr(conv, 'fold_norm', False)
            and is_foldable_norm(norm) and not has_forward_hooks(conv)
            and not has_forward_hooks(norm) and conv.weight.numel() < _output_numel(conv, x)):
        return None
    weight, bias = fold_batch_norm(conv.weight, conv.bias, norm)
    if type(act) is nn.ReLU and not has_forward_hooks(act):
        fused = conv_relu_on_cpu(conv, x, weight, bias)
        if fused is not None:
            return fused
    out = conv._conv_forward(x, weight, bias)
    return out if act is None else act(out)


def framewise_spatial_conv(conv: nn.Conv3d, x: torch.Tensor, weight: torch.Tensor,
                           bias: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """A 1 x d x d ``conv`` of ``x`` as a 2D conv over its frames, in and out in NDHWC.

    Applies in CPU float32 training on NDHWC inputs, outside autocast; the frames and the
    output are views, and the 2D weight is a view of the conv's (channels-last) weight.
    """
    if (not fast_paths_active() or not records_grad(x, weight) or x.device.type != 'cpu'
            or not x.dtype == weight.dtype == torch.float32
            or cpu_autocast_dtype() is not None
            or not x.is_contiguous(memory_format=torch.channels_last_3d)):
        return None
    batch, channels, frames, height, width = x.shape
    images = x.permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, height, width)
    out = F.conv2d(images, weight.squeeze(2), bias, conv.stride[1:], conv.padding[1:],
                   conv.dilation[1:], conv.groups)
    return out.reshape(batch, frames, *out.shape[1:]).permute(0, 2, 1, 3, 4)


def tapwise_temporal_conv(conv: nn.Conv3d, x: torch.Tensor, weight: torch.Tensor,
                          bias: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """A t x 1 x 1 ``conv`` of ``x`` whose backward computes the weight gradient tap by tap.

    Applies in CPU float32 training on NDHWC inputs, outside autocast (oneDNN's bfloat16
    kernel is the faster there); the backward is once-differentiable (no double backward).
    """
    if (_CONV_BACKWARD is None or not fast_paths_active() or not records_grad(x, weight)
            or x.device.type != 'cpu' or not x.dtype == weight.dtype == torch.float32
            or cpu_autocast_dtype() is not None
            or not x.is_contiguous(memory_format=torch.channels_last_3d)):
        return None
    return _TapwiseWeightGradConv.apply(x, weight, bias, conv.stride[0], conv.padding[0])
