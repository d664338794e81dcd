"""The one spatiotemporal ResNet builder behind every network of the paper.

A network is a stem (group 1, conv1) and four stages of "vanilla" two-conv residual blocks
(groups 2..5, conv2_x..conv5_x), with one conv kind per group. No max-pool anywhere;
groups 3..5 downsample in their first block (1x2x2 for a 2D kind, 2x2x2 for a 3D or (2+1)D
kind); shortcuts are a 1x1x1 conv with the block's stride, plus norm (Table 1).
"""
from contextlib import nullcontext
from typing import ContextManager, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, kaiming_init
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.registry import MODELS

from ..engine.checkpoint_loading import load_checked
from .convs import CONV_KINDS, Conv2Plus1d, FoldableConv3d, factorized_mid_channels

#: Groups of convs: conv1 (the stem), conv2_x..conv5_x (the paper's Table 1).
NUM_GROUPS = 5

#: Blocks per stage (conv2_x .. conv5_x) for the depths VMZ builds.
STAGE_BLOCKS = {
    10: (1, 1, 1, 1),
    16: (2, 2, 2, 1),
    18: (2, 2, 2, 2),
    26: (2, 3, 4, 3),
    34: (3, 4, 6, 3),
}

#: ``memory_format`` names -> torch memory formats of the activations.
MEMORY_FORMATS = {
    'contiguous': torch.contiguous_format,
    'channels_last_3d': torch.channels_last_3d,
}
#: ``compute_dtype`` names -> autocast dtypes.
COMPUTE_DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16}

#: VMZ drops the temporal downsampling of conv4_x / conv5_x for clips shorter than this.
MIN_CLIP_LEN_FOR_TEMPORAL_STRIDE = {4: 4, 5: 8}


class ConvNormAct(nn.Module):
    """A conv of a given kind, then norm, then (optionally) activation.

    The norm is folded into the conv when it is a BatchNorm in eval mode, and a ReLU fused
    into it in CPU inference (see ``FoldableConv3d``); the parameters and the state dict are
    those of the separate layers.
    """

    def __init__(self, conv: nn.Module, out_channels: int, norm_cfg: dict,
                 act_cfg: Optional[dict]) -> None:
        super().__init__()
        self.conv = conv
        self.norm = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = build_activation_layer(act_cfg) if act_cfg else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv.forward_with_norm(x, self.norm, self.act)


class BasicBlock3d(nn.Module):
    """Two convs of one kind with a residual connection (the paper's "vanilla" block)."""

    def __init__(self, conv_kind: type, in_channels: int, out_channels: int,
                 spatial_stride: int, temporal_stride: int,
                 mid_channels: Tuple[Optional[int], Optional[int]], norm_cfg: dict,
                 act_cfg: dict, with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.conv1 = ConvNormAct(
            conv_kind(in_channels=in_channels, out_channels=out_channels, spatial_kernel=3,
                      temporal_kernel=3, spatial_stride=spatial_stride,
                      temporal_stride=temporal_stride, mid_channels=mid_channels[0],
                      norm_cfg=norm_cfg, act_cfg=act_cfg),
            out_channels, norm_cfg, act_cfg)
        self.conv2 = ConvNormAct(
            conv_kind(in_channels=out_channels, out_channels=out_channels, spatial_kernel=3,
                      temporal_kernel=3, mid_channels=mid_channels[1], norm_cfg=norm_cfg,
                      act_cfg=act_cfg),
            out_channels, norm_cfg, None)
        needs_projection = (in_channels != out_channels or spatial_stride != 1
                            or temporal_stride != 1)
        self.downsample = ConvNormAct(
            FoldableConv3d(in_channels, out_channels, kernel_size=1,
                           stride=(temporal_stride, spatial_stride, spatial_stride),
                           bias=False),
            out_channels, norm_cfg, None) if needs_projection else None
        self.act = build_activation_layer(act_cfg)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv2(self.conv1(x))
        # In place: one activation-sized allocation less per block. Autograd allows it
        # (neither a conv nor a BatchNorm keeps its output for the backward pass).
        out += identity
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.act(out)


@MODELS.register_module()
class SpatioTemporalResNet(BaseModule):
    """The spatiotemporal ResNet of Tran et al. (CVPR 2018) with one conv kind per group.

    Every network of the paper (R2D, f-R2D, R3D, MCx, rMCx, R(2+1)D) is this class with a
    different ``group_convs``; the registered paper names are thin presets over it.

    Args:
        depth (int): 10, 16, 18, 26 or 34 (blocks per stage as in VMZ).
        group_convs (Sequence[str], optional): conv kind of each of the 5 groups (conv1,
            conv2_x .. conv5_x), each one of ``'2d'``, ``'3d'``, ``'2plus1d'``; group 1 may
            also be ``'r2d'`` (R2D's L x 7 x 7 stem that collapses time). A subclass that
            fixes them (``fixed_group_convs``) refuses others. Default: None (the class's
            ``fixed_group_convs``, else ``('2plus1d', ) * 5``, R(2+1)D).
        in_channels (int): input channels, 3 for RGB, 2 for optical flow.
        base_channels (int): channels of conv1 and conv2_x; doubled per stage. Default 64.
        clip_len (int, optional): frames per clip. Required by an ``'r2d'`` stem; when set,
            VMZ's rule applies: conv4_x / conv5_x do not stride in time for clips shorter
            than 4 / 8 frames.
        stem_mid_channels (int, optional): mid channels of a (2+1)D stem. 45 as in VMZ and
            torchvision (needed for their weights); None for the paper's formula (83).
        mid_channels_rule (str): ``'per_conv'`` (paper and VMZ: M_i computed for every conv
            from its own in/out channels) or ``'per_block'`` (torchvision: both convs of a
            block use the first conv's M_i; needed for torchvision's ``r2plus1d_18``).
        norm_cfg (dict): norm layers. ``dict(type='BN3d', eps=1e-3)`` matches VMZ.
        act_cfg (dict): activation layers. Default ReLU.
        frozen_stages (int): -1 freezes nothing; 0 freezes conv1; k freezes conv1 and
            layer1..layerk (parameters fixed, norm layers in eval mode).
        norm_eval (bool): keep norm layers in eval mode while training (statistics frozen).
        zero_init_residual (bool): start each block's last norm at zero scale.
        with_cp (bool): activation checkpointing per block, to fit long clips in memory.
        out_indices (Sequence[int]): stages (0..3) whose outputs are returned; a single
            stage returns a tensor, as ``Recognizer3D`` expects. Stages after the last one
            listed are not computed. Default: (3, ).
        memory_format (str): layout of the activations inside the backbone.
            ``'channels_last_3d'`` (default; NDHWC) puts the channels innermost, which the
            1 x d x d and t x 1 x 1 convs of (2+1)D need to run fast (3-4x on CPU);
            ``'contiguous'`` (NCDHW) is PyTorch's plain layout. Outputs are returned
            contiguous either way, and agree to float rounding (1e-5 relative). The conv
            weights are kept in the same layout, so no call reorders them (state-dict
            keys, shapes and values are the same in either layout; only strides differ).
        fold_bn (bool): in eval mode, fold each BatchNorm into the conv before it where the
            conv's output outnumbers its weight (the early, large layers), computed on the
            fly from the current parameters and running statistics, so state dicts and
            training are untouched. Default True: it saves a full pass over the largest
            activations, and its rounding is float32's own (on R(2+1)D-34 with trained-like
            statistics, folded and plain logits are as far from a float64 reference as
            the plain path is, about 1e-5 of the logits' scale; tested). False gives
            the separate-BatchNorm arithmetic, e.g. to compare with other code bit for bit.
        compute_dtype (str, optional): ``'bfloat16'`` or ``'float16'`` runs the backbone
            under ``torch.autocast`` in that dtype (parameters stay float32; outputs are
            returned in the input's dtype). bfloat16 roughly doubles speed on CPUs with
            AVX512-BF16/AMX and GPUs with tensor cores; float16 training needs loss scaling,
            so train float16 through ``--amp`` (``AmpOptimWrapper``) instead. Default None
            (float32).
        pretrained (str, optional): checkpoint loaded strictly by ``init_weights``: a
            recognizer checkpoint (its ``backbone.*`` keys, as ``tools/convert_weights.py``
            and training write) or a bare backbone state dict.
        init_cfg (dict or list[dict], optional): mmengine initialisation config.
    """

    #: The conv kinds of a subclass that is one network of the paper (``presets.py``);
    #: None lets ``group_convs`` choose them.
    fixed_group_convs: Optional[Tuple[str, ...]] = None

    def __init__(self,
                 depth: int = 18,
                 group_convs: Optional[Sequence[str]] = None,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 clip_len: Optional[int] = None,
                 stem_mid_channels: Optional[int] = 45,
                 mid_channels_rule: str = 'per_conv',
                 norm_cfg: dict = dict(type='BN3d', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 zero_init_residual: bool = True,
                 with_cp: bool = False,
                 out_indices: Sequence[int] = (3, ),
                 memory_format: str = 'channels_last_3d',
                 fold_bn: bool = True,
                 compute_dtype: Optional[str] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if pretrained is not None and init_cfg is not None:
            raise ValueError('give either pretrained or init_cfg, not both')
        super().__init__(init_cfg=init_cfg)
        self.pretrained = pretrained
        if depth not in STAGE_BLOCKS:
            raise KeyError(f'invalid depth {depth}; choose one of {sorted(STAGE_BLOCKS)}')
        group_convs = self._resolve_group_convs(group_convs)
        if len(group_convs) != NUM_GROUPS:
            raise ValueError(f'group_convs needs 5 conv kinds (conv1, conv2_x..conv5_x), '
                             f'got {len(group_convs)}: {group_convs}')
        for group, kind in enumerate(group_convs, start=1):
            allowed = CONV_KINDS if group == 1 else set(CONV_KINDS) - {'r2d'}
            if kind not in allowed:
                raise ValueError(f'group {group}: unknown conv kind {kind!r}; choose one '
                                 f'of {sorted(allowed)}')
        if group_convs[0] == 'r2d' and not clip_len:
            raise ValueError("an 'r2d' stem collapses the whole clip: set clip_len")
        if mid_channels_rule not in ('per_conv', 'per_block'):
            raise ValueError(f"mid_channels_rule must be 'per_conv' or 'per_block', got "
                             f'{mid_channels_rule!r}')
        if not out_indices or not set(out_indices) <= {0, 1, 2, 3}:
            raise ValueError(f'out_indices must name stages within 0..3, got {out_indices}')
        if memory_format not in MEMORY_FORMATS:
            raise ValueError(f'memory_format must be one of {list(MEMORY_FORMATS)}, got '
                             f'{memory_format!r}')
        if compute_dtype is not None and compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(f'compute_dtype must be None or one of '
                             f'{list(COMPUTE_DTYPES)}, got {compute_dtype!r}')

        self.depth = depth
        self.group_convs = group_convs
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.clip_len = clip_len
        self.stem_mid_channels = stem_mid_channels
        self.mid_channels_rule = mid_channels_rule
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        self.with_cp = with_cp
        self.out_indices = tuple(out_indices)
        self.memory_format = memory_format
        self.fold_bn = fold_bn
        self.compute_dtype = compute_dtype

        self.conv1 = self._make_stem()
        self.res_layers = []
        channels = base_channels
        for index, num_blocks in enumerate(STAGE_BLOCKS[depth]):
            group = index + 2
            out_channels = base_channels * 2**index
            layer = self._make_stage(group, channels, out_channels, num_blocks)
            channels = out_channels
            name = f'layer{index + 1}'
            self.add_module(name, layer)
            self.res_layers.append(name)
        self.feat_dim = channels
        for module in self.modules():
            if isinstance(module, FoldableConv3d):
                module.fold_norm = fold_bn
                module.weight.data = module.weight.data.contiguous(
                    memory_format=MEMORY_FORMATS[memory_format])

    def _resolve_group_convs(self, group_convs: Optional[Sequence[str]]) -> Tuple[str, ...]:
        fixed = self.fixed_group_convs
        if fixed is None:
            return ('2plus1d', ) * NUM_GROUPS if group_convs is None else tuple(group_convs)
        if group_convs is not None and tuple(group_convs) != fixed:
            raise TypeError(f'{type(self).__name__} fixes group_convs={fixed}; use '
                            f'SpatioTemporalResNet to choose them')
        return fixed

    def _make_stem(self) -> ConvNormAct:
        kind_name = self.group_convs[0]
        kind = CONV_KINDS[kind_name]
        out_channels = self.base_channels
        temporal_kernel = self.clip_len if kind_name == 'r2d' else 3
        mid = None
        if kind is Conv2Plus1d:
            mid = self.stem_mid_channels or factorized_mid_channels(
                self.in_channels, out_channels, temporal_kernel, 7)
        conv = kind(in_channels=self.in_channels, out_channels=out_channels, spatial_kernel=7,
                    temporal_kernel=temporal_kernel, spatial_stride=2, mid_channels=mid,
                    norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        return ConvNormAct(conv, out_channels, self.norm_cfg, self.act_cfg)

    def _temporal_stride(self, group: int, kind: type) -> int:
        if group < 3 or not kind.strides_in_time:
            return 1
        min_len = MIN_CLIP_LEN_FOR_TEMPORAL_STRIDE.get(group, 0)
        if self.clip_len is not None and self.clip_len < min_len:
            return 1
        return 2

    def _mid_channels(self, kind: type, in_channels: int,
                      out_channels: int) -> Tuple[Optional[int], Optional[int]]:
        if kind is not Conv2Plus1d:
            return None, None
        first = factorized_mid_channels(in_channels, out_channels)
        if self.mid_channels_rule == 'per_block':
            return first, first
        return first, factorized_mid_channels(out_channels, out_channels)

    def _make_stage(self, group: int, in_channels: int, out_channels: int,
                    num_blocks: int) -> nn.Sequential:
        kind = CONV_KINDS[self.group_convs[group - 1]]
        spatial_stride = 1 if group == 2 else 2
        temporal_stride = self._temporal_stride(group, kind)
        blocks = []
        for index in range(num_blocks):
            block_in = in_channels if index == 0 else out_channels
            blocks.append(BasicBlock3d(
                kind, block_in, out_channels,
                spatial_stride if index == 0 else 1,
                temporal_stride if index == 0 else 1,
                self._mid_channels(kind, block_in, out_channels),
                self.norm_cfg, self.act_cfg, self.with_cp))
        return nn.Sequential(*blocks)

    def init_weights(self) -> None:
        """Kaiming convs and unit norms, or ``pretrained``, or the ``init_cfg`` weights."""
        if self.pretrained is not None:
            # a recognizer's checkpoint gives its backbone.* weights
            load_checked(self, self.pretrained, type(self).__name__, prefix='backbone.')
            return
        if self.init_cfg is not None:
            super().init_weights()
            return
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                kaiming_init(module)
            elif isinstance(module, _BatchNorm):
                constant_init(module, 1)
        if self.zero_init_residual:
            for module in self.modules():
                if isinstance(module, BasicBlock3d):
                    constant_init(module.conv2.norm, 0)
        MMLogger.get_current_instance().debug(
            f'{type(self).__name__}: initialised from scratch')

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.conv1] + [getattr(self, name)
                                 for name in self.res_layers[:self.frozen_stages]]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def _autocast(self, device_type: str) -> ContextManager:
        if self.compute_dtype is None:
            return nullcontext()
        return torch.autocast(device_type, dtype=COMPUTE_DTYPES[self.compute_dtype])

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor]]:
        """(N, C, T, H, W) clips -> the feature map(s) of ``out_indices``."""
        out_dtype = x.dtype
        x = x.contiguous(memory_format=MEMORY_FORMATS[self.memory_format])
        with self._autocast(x.device.type):
            x = self.conv1(x)
            outs = []
            # Stages after the last one asked for are not run (a conv3 output needs no conv5).
            for index, name in enumerate(self.res_layers[:max(self.out_indices) + 1]):
                x = getattr(self, name)(x)
                if index in self.out_indices:
                    outs.append(x.to(out_dtype).contiguous())
        return outs[0] if len(outs) == 1 else tuple(outs)

    def train(self, mode: bool = True) -> 'SpatioTemporalResNet':
        """Set train mode, keeping frozen stages and (with ``norm_eval``) norms in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
