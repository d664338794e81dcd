"""Speed of the paper's networks beside MMAction2's and torchvision's, and of the data pipeline.

One run measures, on one device and one input size, for each compared model:

* inference clips/s (eval mode, no grad) and training-step clips/s (forward, cross-entropy,
  backward, SGD step), each with its peak memory: on CPU the peak resident set size above
  the level before the timed calls (``/proc/self/status`` VmHWM, reset through
  ``/proc/self/clear_refs``; ``ru_maxrss`` where that is not allowed), on CUDA
  ``torch.cuda.max_memory_allocated`` above the memory held before;
* achieved GFLOP/s, from the FLOPs that ``torch.utils.flop_counter`` counts during a warm-up
  call, and its fraction of the machine's peak, measured in the same run (at its start and
  its end, the better kept) as the best of a large matmul and a large 3x3x3 convolution in
  the same precision;
* for MMAction2 backbones (ours and MMAction2's own), the 10-clip test throughput through the
  project's recognizer (``configs/_base_/models/recognizer_rgb.py``): every video's clips go
  through the backbone as one batch.

and, for the data pipeline of the project's Kinetics config on generated videos, training
clips/s and 10-clip test clips/s at the config's worker count, and how many decoder calls
each test video costs.

Each network's models are timed round-robin, every other round in reverse order (see
``interleaved_timings``), so that the ratios between them survive a machine shared with
other work; process CPU seconds are kept beside wall seconds.

The peers are built to the same architecture as the network under test, from its own
modules (conv kinds, temporal strides, depth): MMAction2's ``ResNet3d`` (2D and 3D convs)
or ``ResNet2Plus1d`` (its stem max-pool removed; its stem's mid channels and factorised
shortcuts stay MMAction2's), torchvision's ``VideoResNet`` (``r3d_18``, ``mc3_18`` and
``r2plus1d_18`` are such) and, for f-R2D and R2D, torchvision's 2D ``resnet18`` on frames.
"""
import copy
import gc
import json
import os
import os.path as osp
import platform
import re
import resource
import tempfile
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Callable, ContextManager, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from mmaction.registry import MODELS
from ..configs import resolve_config
from ..models import PAPER_NAMES, STAGE_BLOCKS, SpatioTemporalResNet, paper_backbone
from .cpu_memory import keep_freed_memory, keeps_freed_memory

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The project's recognizer (head and normalisation) for the 10-clip test measurement.
RECOGNIZER_CONFIG = resolve_config('_base_/models/recognizer_rgb.py')
#: The project's Kinetics pipelines and worker count for the data measurement.
DATA_CONFIG = resolve_config('_base_/datasets/kinetics400_rgb.py')

PEER_FAMILIES = ('mmaction2', 'torchvision')
AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}
PRECISION_NAMES = {torch.float32: 'float32', torch.bfloat16: 'bfloat16',
                   torch.float16: 'float16'}


@dataclass
class BenchmarkSettings:
    """What one run measures (``tools/benchmark.py`` exposes each as a flag).

    Args:
        networks: paper names (``r21d_plugin.PAPER_NAMES``) to measure.
        depth, clip_len, crop_size, batch_size: the input and the networks' depth.
        base_channels: width of our networks and the peers (64 in the paper; smaller for
            quick checks).
        num_classes: classes of the fc layer every model ends with.
        device: ``'cpu'`` or ``'cuda'``.
        threads: torch CPU threads (None: torch's default).
        cpu_malloc: ``'keep'`` has glibc keep freed memory for reuse, as our train and test
            tools do (``r21d_plugin.engine.cpu_memory``), for every model of the run alike;
            ``'default'`` leaves glibc's defaults (as a plain Python process runs).
        amp: each of ``'bf16'``, ``'fp16'`` given adds a row per model under autocast in
            that precision (ours through its ``compute_dtype`` switch).
        channels_last: adds a row per peer run in channels_last_3d (ours is by default).
        plain: adds our plain path (contiguous layout, separate BatchNorms) for comparison.
        compile: adds ``torch.compile`` rows (compile time reported): ours, and each peer
            as users run it; compiled rows are compared with compiled peers only.
        peers: the peer families measured, among ``'mmaction2'`` and ``'torchvision'``.
        warmup, iters: untimed and timed calls per measurement.
        test_clips, test_videos: the 10-clip test measurement (clips per video, videos per
            batch); 0 clips turns it off.
        pipeline: measure the data pipeline.
        data_config: dataset config whose train/test pipelines and workers are measured.
        workers: data loader workers (None: the data config's).
        pipeline_videos, video_size, video_frames, pipeline_batches: the generated videos
            (per split) and how many batches are timed.
    """

    networks: Sequence[str] = ('R(2+1)D', )
    depth: int = 18
    clip_len: int = 16
    crop_size: int = 112
    batch_size: int = 8
    base_channels: int = 64
    num_classes: int = 400
    device: str = 'cpu'
    threads: Optional[int] = None
    cpu_malloc: str = 'keep'
    amp: Sequence[str] = ()
    channels_last: bool = False
    plain: bool = True
    compile: bool = False
    peers: Sequence[str] = ('mmaction2', 'torchvision')
    warmup: int = 1
    iters: int = 3
    test_clips: int = 10
    test_videos: int = 1
    pipeline: bool = True
    data_config: str = DATA_CONFIG
    workers: Optional[int] = None
    pipeline_videos: int = 8
    video_size: int = 256
    video_frames: int = 160
    pipeline_batches: int = 8

    def __post_init__(self) -> None:
        unknown = [name for name in self.networks if name not in PAPER_NAMES]
        if unknown:
            raise KeyError(f'unknown network(s) {unknown}; choose from {list(PAPER_NAMES)}')
        unknown = [name for name in self.amp if name not in AMP_DTYPES]
        if unknown:
            raise ValueError(f'amp must be among {list(AMP_DTYPES)}, got {unknown}')
        if self.cpu_malloc not in ('keep', 'default'):
            raise ValueError(f"cpu_malloc must be 'keep' or 'default', got "
                             f'{self.cpu_malloc!r}')
        if self.device not in ('cpu', 'cuda'):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.device == 'cuda' and not torch.cuda.is_available():
            raise RuntimeError('--device cuda asked for, but torch sees no CUDA device')
        unknown = [name for name in self.peers if name not in PEER_FAMILIES]
        if unknown:
            raise ValueError(f'peers must be among {list(PEER_FAMILIES)}, got {unknown}')
        if self.iters < 1 or self.warmup < 1:
            raise ValueError('warmup and iters must be at least 1 (the first warm-up call '
                             'counts the FLOPs)')


# ----------------------------------------------------------------------------- models


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
        with autocast_context(self.device_type, self.autocast_dtype):
            return self.model(x).float()


def autocast_context(device_type: str, dtype: Optional[torch.dtype]) -> ContextManager:
    return nullcontext() if dtype is None else torch.autocast(device_type, dtype=dtype)


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


def _drop_stem_pool(backbone: nn.Module) -> nn.Module:
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


@dataclass
class Candidate:
    """One row: a model, how it is run, and what it is compared with."""

    network: str
    label: str
    family: str  # 'ours' | 'mmaction2' | 'torchvision'
    build: Callable[[], nn.Module]  # clip classifier, float32, on CPU
    precision: str = 'float32'
    layout: str = 'contiguous'
    memory_format: torch.memory_format = torch.contiguous_format
    autocast_dtype: Optional[torch.dtype] = None
    backbone_cfg: Optional[dict] = None  # an MMAction2 backbone: 10-clip test measurable
    patch_backbone: Callable[[nn.Module], nn.Module] = lambda backbone: backbone
    compile: bool = False
    measure_test: bool = False  # 10-clip test through the recognizer (needs backbone_cfg)
    note: str = ''


def _ours_cfg(settings: BenchmarkSettings, network: str, **switches) -> dict:
    return paper_backbone(network, depth=settings.depth, clip_len=settings.clip_len,
                          base_channels=settings.base_channels, **switches)


def _backbone_classifier(cfg: dict, num_classes: int,
                         patch: Callable[[nn.Module], nn.Module]) -> nn.Module:
    backbone = patch(MODELS.build(cfg))
    backbone.init_weights()
    feat_dim = backbone.feat_dim
    return PooledClassifier(backbone, feat_dim, num_classes)


def candidates_for(settings: BenchmarkSettings, network: str) -> List[Candidate]:
    """Our network (default switches, plain path, amp, compile) and its peers, as rows."""
    num_classes = settings.num_classes
    rows: List[Candidate] = []

    def ours(label: str, note: str = '', measure_test: bool = False,
             **switches) -> Candidate:
        cfg = _ours_cfg(settings, network, **switches)
        with torch.device('meta'):
            layout = MODELS.build(copy.deepcopy(cfg)).memory_format
        return Candidate(
            network, label, 'ours', lambda: _backbone_classifier(cfg, num_classes, _keep),
            precision=switches.get('compute_dtype') or 'float32', layout=layout,
            backbone_cfg=cfg, measure_test=measure_test, note=note)

    rows.append(ours('ours', 'default switches (channels_last_3d, BatchNorm folded in eval)',
                     measure_test=True))
    if settings.plain:
        rows.append(ours('ours plain', 'contiguous layout, separate BatchNorms',
                         memory_format='contiguous', fold_bn=False))
    for amp in settings.amp:
        rows.append(ours(f'ours {amp}', 'switch compute_dtype', measure_test=True,
                         compute_dtype=PRECISION_NAMES[AMP_DTYPES[amp]]))
    if settings.compile:
        row = ours('ours compiled', 'torch.compile of the default model')
        row.compile = True
        rows.append(row)

    with torch.device('meta'):
        arch = MODELS.build(_ours_cfg(settings, network))
    peers: List[Candidate] = []
    mm_cfg = mmaction_peer_cfg(arch) if 'mmaction2' in settings.peers else None
    if mm_cfg is not None:
        note = ('stem max-pool removed; MMAction2 stem mid channels (83) and (2+1)D '
                'shortcuts' if mm_cfg['type'] == 'ResNet2Plus1d' else 'no pools')
        peers.append(Candidate(
            network, f"mmaction2 {mm_cfg['type']}", 'mmaction2',
            lambda: _backbone_classifier(mm_cfg, num_classes, _drop_stem_pool),
            backbone_cfg=mm_cfg, patch_backbone=_drop_stem_pool, measure_test=True,
            note=note))
    try:
        import torchvision  # noqa: F401
    except ImportError:
        torchvision_found = False
    else:
        torchvision_found = True
    if torchvision_found and 'torchvision' in settings.peers:
        with torch.device('meta'):
            video_peer = torchvision_video_peer(arch, num_classes)
            frames_peer = torchvision_frames_peer(arch, num_classes)
        if video_peer is not None:
            name = {('3d', ) * 5: 'r3d_18', ('2plus1d', ) * 5: 'r2plus1d_18',
                    ('3d', '3d', '2d', '2d', '2d'): 'mc3_18'}.get(arch.group_convs)
            label = (f'torchvision {name}' if name and arch.depth == 18
                     else 'torchvision VideoResNet')
            peers.append(Candidate(
                network, label, 'torchvision',
                lambda: torchvision_video_peer(arch, num_classes),
                note='per-block mid channels (230/460/921)' if '2plus1d' in arch.group_convs
                else ''))
            if network == 'R(2+1)D' and arch.mid_channels_rule != 'per_block':
                rows.append(ours('ours tv-mids', "mid_channels_rule='per_block' "
                                 "(torchvision's architecture exactly)",
                                 mid_channels_rule='per_block'))
        if frames_peer is not None:
            peers.append(Candidate(
                network, f'torchvision resnet{arch.depth} 2D', 'torchvision',
                lambda: torchvision_frames_peer(arch, num_classes),
                note='on frames' if arch.group_convs[0] == '2d'
                else 'frames stacked as channels'))
    for peer in peers:
        layouts = [peer]
        if settings.channels_last:
            layouts.append(_variant(peer, ' channels_last', layout='channels_last_3d',
                                    memory_format=torch.channels_last_3d))
        rows.extend(layouts)
        if settings.compile:
            rows.append(_variant(peer, ' compiled', compile=True))
        for amp in settings.amp:
            rows.extend(_variant(row, f' {amp}', autocast_dtype=AMP_DTYPES[amp],
                                 precision=PRECISION_NAMES[AMP_DTYPES[amp]])
                        for row in layouts)
    return rows


def _keep(backbone: nn.Module) -> nn.Module:
    return backbone


def _variant(row: Candidate, suffix: str, **changes) -> Candidate:
    variant = copy.copy(row)
    variant.label = row.label + suffix
    variant.note = ''  # the base row's note covers it
    for key, value in changes.items():
        setattr(variant, key, value)
    return variant


def _prepare(row: Candidate, device: torch.device) -> nn.Module:
    model = row.build().to(device)
    if row.memory_format is not torch.contiguous_format:
        model = _to_memory_format(model, row.memory_format)
    return Prepared(model, row.memory_format, row.autocast_dtype, device.type)


def _to_memory_format(model: nn.Module, memory_format: torch.memory_format) -> nn.Module:
    # 5-D parameters take the 3-D format, 4-D ones (2D networks on frames) the 2-D one.
    for param in model.parameters():
        if param.dim() == 5:
            param.data = param.data.contiguous(memory_format=memory_format)
        elif param.dim() == 4:
            param.data = param.data.contiguous(memory_format=torch.channels_last)
    return model


# ------------------------------------------------------------------------ measurement


class PeakMemory:
    """Peak memory above the level at ``start()``, in MiB.

    On CPU it is the growth of the resident size, which says nothing once malloc keeps
    freed memory (earlier steps already hold the heap): then ``peak_mib`` is None.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._base = 0

    @staticmethod
    def _status_kib(key: str) -> Optional[int]:
        try:
            with open('/proc/self/status') as f:
                match = re.search(rf'^{key}:\s+(\d+) kB', f.read(), re.M)
        except OSError:
            return None
        return int(match.group(1)) if match else None

    def start(self) -> None:
        gc.collect()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            return
        self._resettable = True
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # resets VmHWM to the current resident size
        except OSError:
            self._resettable = False
        rss = self._status_kib('VmRSS')
        if self._resettable and rss is not None:
            self._base = rss * 1024
        else:  # ru_maxrss only grows: a delta is a lower bound after an earlier peak
            self._base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def peak_mib(self) -> Optional[float]:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif keeps_freed_memory():
            return None
        elif self._resettable and self._status_kib('VmHWM') is not None:
            peak = self._status_kib('VmHWM') * 1024
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return max(peak - self._base, 0) / 2**20


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def interleaved_timings(steps: Sequence[Callable[[], None]], count_flops: Sequence[bool],
                        device: torch.device, warmup: int,
                        iters: int) -> List[Dict[str, object]]:
    """Time several steps round-robin: ``iters`` rounds, each step once per round, every
    other round in reverse order.

    On a machine shared with other work, load changes then hit every step alike, so their
    ratios hold even when absolute figures drift; reversing the order cancels what a step
    inherits from the one before it (a heap or caches left in another model's state). Each
    step is first warmed up ``warmup`` times, its first call under a FLOP counter where
    ``count_flops`` says so. Returns, per step, the wall and process CPU seconds of each
    timed call, the first call's seconds (compile time, cudnn autotuning), the FLOPs of one
    call (None if not counted) and the peak memory of the timed calls.
    """
    timings = []
    for step, count in zip(steps, count_flops):
        counter = FlopCounterMode(display=False)
        start = time.perf_counter()
        with counter if count else nullcontext():
            step()
        _sync(device)
        first_call_s = time.perf_counter() - start
        for _ in range(warmup - 1):
            step()
        timings.append(dict(seconds=[], cpu_seconds=[], first_call_s=first_call_s,
                            flops=counter.get_total_flops() if count else None,
                            peak_mib=0.0))
    memory = PeakMemory(device)
    for round_index in range(iters):
        order = list(zip(steps, timings))
        for step, timing in order if round_index % 2 == 0 else reversed(order):
            memory.start()
            start, cpu_start = time.perf_counter(), time.process_time()
            step()
            _sync(device)
            timing['seconds'].append(time.perf_counter() - start)
            timing['cpu_seconds'].append(time.process_time() - cpu_start)
            peak = memory.peak_mib()
            timing['peak_mib'] = None if peak is None else max(timing['peak_mib'], peak)
    return timings


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return (ordered[middle] if len(ordered) % 2
            else (ordered[middle - 1] + ordered[middle]) / 2)


def _summarise(timing: Dict[str, object], clips: int, peak_gflops: float) -> Dict[str, object]:
    step_s = _median(timing['seconds'])
    gflops = timing['flops'] / step_s / 1e9
    return dict(
        clips_per_s=clips / step_s, step_s=step_s, seconds=timing['seconds'],
        cpu_seconds=timing['cpu_seconds'],
        clips_per_cpu_s=clips / _median(timing['cpu_seconds']),
        first_call_s=timing['first_call_s'], gflop_per_clip=timing['flops'] / clips / 1e9,
        gflops=gflops, fraction_of_peak=gflops / peak_gflops, peak_mib=timing['peak_mib'])


def inference_step(model: nn.Module, clips: torch.Tensor) -> Callable[[], None]:
    """One eval-mode forward pass without gradients."""
    model.eval()

    def step():
        with torch.no_grad():
            model(clips)

    return step


def training_step(model: nn.Module, clips: torch.Tensor,
                  labels: torch.Tensor) -> Callable[[], None]:
    """One training step: forward, cross-entropy, backward, SGD step."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9,
                                weight_decay=1e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(clips), labels).backward()
        optimizer.step()

    return step


def build_test_recognizer(row: Candidate, settings: BenchmarkSettings,
                          device: torch.device) -> Tuple[nn.Module, List[int]]:
    """The project's recognizer with the row's backbone, and a list that records the batch
    size of every backbone call."""
    from mmengine.config import Config

    recognizer_cfg = Config.fromfile(RECOGNIZER_CONFIG).model
    recognizer_cfg.backbone = row.backbone_cfg
    recognizer_cfg.cls_head.num_classes = settings.num_classes
    recognizer_cfg.cls_head.in_channels = settings.base_channels * 8  # conv5 channels
    recognizer = MODELS.build(recognizer_cfg)
    recognizer.backbone = row.patch_backbone(recognizer.backbone)
    recognizer.init_weights()
    recognizer.to(device).eval()
    if row.memory_format is not torch.contiguous_format:
        _to_memory_format(recognizer, row.memory_format)
        recognizer.backbone.register_forward_pre_hook(
            lambda _module, args: (args[0].contiguous(memory_format=row.memory_format), ))
    calls: List[int] = []
    recognizer.backbone.register_forward_hook(
        lambda _module, args, _out: calls.append(args[0].shape[0]))
    return recognizer, calls


def multi_clip_test_step(recognizer: nn.Module, row: Candidate, settings: BenchmarkSettings,
                         device: torch.device) -> Callable[[], None]:
    """One ``test_step`` on ``test_videos`` uint8 videos of ``test_clips`` clips each."""
    from mmaction.structures import ActionDataSample

    size = settings.crop_size
    videos = [torch.randint(0, 256, (settings.test_clips, 3, settings.clip_len, size, size),
                            dtype=torch.uint8) for _ in range(settings.test_videos)]
    samples = [ActionDataSample().set_gt_label(0) for _ in videos]

    def step():
        # no_grad, as MMAction2's TestLoop runs it
        with torch.no_grad(), autocast_context(device.type, row.autocast_dtype):
            recognizer.test_step(dict(inputs=videos, data_samples=samples))

    return step


def measure_peak(device: torch.device, dtype: torch.dtype, repeats: int = 3) -> dict:
    """GFLOP/s of a large matmul and of a large 3x3x3 conv (channels_last_3d); the best."""
    if device.type == 'cuda':
        n, conv_shape = 8192, (16, 256, 16, 28, 28)
    else:
        n, conv_shape = 2048, (4, 128, 8, 28, 28)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    x = torch.randn(conv_shape, device=device, dtype=dtype).contiguous(
        memory_format=torch.channels_last_3d)
    channels = conv_shape[1]
    w = torch.randn(channels, channels, 3, 3, 3, device=device, dtype=dtype)
    conv_flops = 2 * x.numel() * channels * 27

    def best(fn: Callable[[], object], flops: float) -> float:
        with torch.no_grad():
            fn()
            _sync(device)
            fastest = float('inf')
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                _sync(device)
                fastest = min(fastest, time.perf_counter() - start)
        return flops / fastest / 1e9

    matmul = best(lambda: a @ b, 2 * n**3)
    conv = best(lambda: F.conv3d(x, w, padding=1), conv_flops)
    return dict(matmul_gflops=matmul, conv3d_gflops=conv, peak_gflops=max(matmul, conv))


def measure_network(rows: List[Candidate], settings: BenchmarkSettings,
                    device: torch.device, peaks: Dict[str, dict],
                    on_phase: Optional[Callable[[List[dict]], None]] = None) -> List[dict]:
    """Inference, training step and 10-clip test of one network's rows, each interleaved.

    ``on_phase`` receives the results so far after each of the three phases.
    """
    size = settings.crop_size
    torch.manual_seed(0)
    clips = torch.randn(settings.batch_size, 3, settings.clip_len, size, size,
                        device=device)
    labels = torch.randint(0, settings.num_classes, (settings.batch_size, ), device=device)
    models = []
    results = []
    for row in rows:
        torch.manual_seed(0)
        model = _prepare(row, device)
        results.append(dict(
            network=row.network, model=row.label, family=row.family,
            precision=row.precision, layout=row.layout, compiled=row.compile, note=row.note,
            params_m=sum(p.numel() for p in model.parameters()) / 1e6))
        # The FLOP counter cannot look into compiled code: compiled rows take their twin's.
        models.append(torch.compile(model) if row.compile else model)
    count = [not row.compile for row in rows]
    for mode, make_step in (('inference', lambda m: inference_step(m, clips)),
                            ('training', lambda m: training_step(m, clips, labels))):
        timings = interleaved_timings([make_step(model) for model in models], count,
                                      device, settings.warmup, settings.iters)
        by_label = {row.label: timing for row, timing in zip(rows, timings)}
        for row, timing, result in zip(rows, timings, results):
            if row.compile:
                timing['flops'] = by_label[row.label.replace(' compiled', '')]['flops']
            result[mode] = _summarise(timing, settings.batch_size,
                                      peaks[row.precision]['peak_gflops'])
        if on_phase is not None:
            on_phase(results)
    for row, result in zip(rows, results):
        if row.compile:
            result['compile_s'] = (result['inference']['first_call_s']
                                   + result['training']['first_call_s'])
    del models
    if any(row.compile for row in rows):
        # The compiled models share code objects (``Prepared.forward``): without a reset the
        # next network's would count against dynamo's recompile limit and could run eager.
        torch._dynamo.reset()
    gc.collect()
    tested = [index for index, row in enumerate(rows)
              if row.measure_test and settings.test_clips > 0]
    for result in results:
        result['test'] = None
    if tested:
        recognizers = [build_test_recognizer(rows[index], settings, device)
                       for index in tested]
        steps = [multi_clip_test_step(recognizer, rows[index], settings, device)
                 for index, (recognizer, _calls) in zip(tested, recognizers)]
        timings = interleaved_timings(steps, [False] * len(steps), device, settings.warmup,
                                      settings.iters)
        calls_per_video_batch = settings.warmup + settings.iters
        for index, (_recognizer, calls), timing in zip(tested, recognizers, timings):
            step_s = _median(timing['seconds'])
            results[index]['test'] = dict(
                videos_per_s=settings.test_videos / step_s,
                clips_per_s=settings.test_videos * settings.test_clips / step_s,
                step_s=step_s, seconds=timing['seconds'],
                cpu_seconds=timing['cpu_seconds'], peak_mib=timing['peak_mib'],
                backbone_calls_per_batch=len(calls) // calls_per_video_batch,
                backbone_batch_sizes=sorted(set(calls)))
        del recognizers, steps
        if on_phase is not None:
            on_phase(results)
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return results


# ----------------------------------------------------------------------- data pipeline


def _retimed(pipeline: List[dict], clip_len: int) -> List[dict]:
    return [dict(step, clip_len=clip_len) if step['type'] == 'SampleFrames' else dict(step)
            for step in pipeline]


def _count_decoder_calls(dataset) -> Dict[str, object]:
    """Decoder calls and frames per call while the dataset's pipeline reads every video."""
    import decord

    calls: List[int] = []
    original = decord.VideoReader.get_batch

    def counting(self, indices):
        calls.append(len(indices))
        return original(self, indices)

    decord.VideoReader.get_batch = counting
    try:
        shapes = [tuple(dataset[index]['inputs'].shape) for index in range(len(dataset))]
    finally:
        decord.VideoReader.get_batch = original
    return dict(videos=len(dataset), decoder_calls=len(calls),
                decoder_calls_per_video=len(calls) / len(dataset),
                frames_per_call=sorted(set(calls)), inputs_shape=sorted(set(shapes)))


def _loader_throughput(dataset, batch_size: int, workers: int, batches: int,
                       sampler) -> Dict[str, float]:
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers,
                        sampler=sampler, collate_fn=pseudo_collate)
    iterator = iter(loader)
    next(iterator)  # worker start-up and first decode are not throughput
    start = time.perf_counter()
    samples = 0
    for _ in range(batches):
        samples += len(next(iterator)['inputs'])
    seconds = time.perf_counter() - start
    del iterator
    return dict(samples_per_s=samples / seconds, seconds=seconds, samples=samples)


def write_benchmark_videos(root: str, count: int, size: int, frames: int) -> str:
    """``count`` MPEG-4 videos of ``frames`` frames and an annotation file; returns its path.

    Made of the motion dataset's 32-frame scenes back to back: its generator draws motions
    that fit about 32 frames, while decoding costs need videos as long as real ones.
    """
    from ..data.prep.motion_dataset import (MOTION_CLASSES, render_clip, sample_motion_clip,
                                       video_rng, write_video)

    scene_frames = 32
    scenes = -(-frames // scene_frames)
    lines = []
    for index in range(count):
        label = index % len(MOTION_CLASSES)
        video = np.concatenate([
            render_clip(sample_motion_clip(video_rng(0, 'test', index * scenes + scene),
                                           label, size, scene_frames))
            for scene in range(scenes)])[:frames]
        name = f'{index:05d}.mp4'
        write_video(video, osp.join(root, name), fps=30)
        lines.append(f'{name} {label}\n')
    ann_file = osp.join(root, 'videos.txt')
    with open(ann_file, 'w') as f:
        f.writelines(lines)
    return ann_file


def measure_pipeline(settings: BenchmarkSettings) -> Dict[str, object]:
    """Decoded-and-augmented clips/s of the data config's train and 10-clip test pipelines.

    ``pipeline_videos`` generated videos of ``video_size`` x ``video_size`` pixels and
    ``video_frames`` frames are read through MMAction2's ``VideoDataset`` with the data
    config's pipelines (clip length set to ``clip_len``), batch sizes (training: the
    benchmark's) and worker count (unless ``workers`` is given).
    """
    from mmengine.config import Config
    from torch.utils.data import RandomSampler

    from mmaction.registry import DATASETS

    cfg = Config.fromfile(settings.data_config)
    workers = (settings.workers if settings.workers is not None
               else cfg.train_dataloader.num_workers)
    test_pipeline = _retimed(cfg.test_pipeline, settings.clip_len)
    num_test_clips = next(step['num_clips'] for step in test_pipeline
                          if step['type'] == 'SampleFrames')
    train_batch, test_batch = settings.batch_size, cfg.test_dataloader.batch_size
    batches = settings.pipeline_batches
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        ann_file = write_benchmark_videos(root, settings.pipeline_videos,
                                          settings.video_size, settings.video_frames)
        generate_s = time.perf_counter() - start

        def dataset(pipeline: List[dict], test_mode: bool):
            return DATASETS.build(dict(type='VideoDataset', ann_file=ann_file,
                                       data_prefix=dict(video=root), pipeline=pipeline,
                                       test_mode=test_mode))

        train_set = dataset(_retimed(cfg.train_pipeline, settings.clip_len), False)
        test_set = dataset(test_pipeline, True)
        decoding = _count_decoder_calls(test_set)
        train = _loader_throughput(
            train_set, train_batch, workers, batches,
            RandomSampler(train_set, replacement=True,
                          num_samples=train_batch * (batches + 1)))
        test = _loader_throughput(
            test_set, test_batch, workers, batches,
            RandomSampler(test_set, replacement=True, num_samples=test_batch * (batches + 1)))
    return dict(
        data_config=osp.relpath(settings.data_config, ROOT)
        if settings.data_config.startswith(ROOT) else settings.data_config,
        workers=workers, videos=len(test_set), video_size=settings.video_size,
        video_frames=settings.video_frames, generate_s=generate_s,
        train_clips_per_s=train['samples_per_s'], train_batch=train_batch,
        test_videos_per_s=test['samples_per_s'],
        test_clips_per_s=test['samples_per_s'] * num_test_clips, test_batch=test_batch,
        test_clips_per_video=num_test_clips, test_decoding=decoding)


# ----------------------------------------------------------------------------- a run


def machine_info(device: torch.device) -> Dict[str, object]:
    info = dict(python=platform.python_version(), torch=torch.__version__,
                platform=platform.platform(), cpu=_cpu_name(), cpu_count=os.cpu_count(),
                torch_threads=torch.get_num_threads())
    try:
        import torchvision
        info['torchvision'] = torchvision.__version__
    except ImportError:
        info['torchvision'] = None
    import mmaction
    info['mmaction2'] = mmaction.__version__
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
        info['cuda'] = torch.version.cuda
        info['cudnn'] = torch.backends.cudnn.version()
        info['cudnn_benchmark'] = torch.backends.cudnn.benchmark
    if hasattr(os, 'getloadavg'):
        info['load_average_start'] = os.getloadavg()
    return info


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            match = re.search(r'^model name\s*:\s*(.+)$', f.read(), re.M)
        if match:
            return match.group(1).strip()
    except OSError:
        pass
    return platform.processor()


def _reference(rows: List[dict], network: str) -> Optional[dict]:
    """The peer as users run it: torchvision's video model, else MMAction2's, float32,
    eager."""
    plain_peers = [row for row in rows if row['network'] == network
                   and row['family'] != 'ours' and row['precision'] == 'float32'
                   and row['layout'] == 'contiguous' and not row['compiled']]
    for family in ('torchvision', 'mmaction2'):
        for row in plain_peers:
            if row['family'] == family and '2D' not in row['model']:
                return row
    return plain_peers[0] if plain_peers else None


def compare(rows: List[dict]) -> List[dict]:
    """Each of our rows against the reference peer and the best peer of its precision
    (a compiled row against compiled peers, an eager one against eager peers)."""
    summary = []
    for row in rows:
        if row['family'] != 'ours':
            continue
        entry = dict(network=row['network'], model=row['model'], precision=row['precision'])
        reference = _reference(rows, row['network'])
        peers = [peer for peer in rows if peer['network'] == row['network']
                 and peer['family'] != 'ours' and peer['precision'] == row['precision']
                 and peer['compiled'] == row['compiled']]
        for mode in ('inference', 'training'):
            if reference is not None:
                entry['reference'] = reference['model']
                entry[f'{mode}_x_reference'] = (row[mode]['clips_per_s']
                                               / reference[mode]['clips_per_s'])
            if peers:
                best = max(peers, key=lambda peer: peer[mode]['clips_per_s'])
                entry[f'{mode}_best_peer'] = best['model']
                entry[f'{mode}_x_best_peer'] = (row[mode]['clips_per_s']
                                               / best[mode]['clips_per_s'])
        summary.append(entry)
    return summary


def run_benchmark(settings: BenchmarkSettings, progress: bool = True,
                  on_update: Optional[Callable[[Dict[str, object]], None]] = None
                  ) -> Dict[str, object]:
    """Measure every row of every network, the machine's peak, and the data pipeline.

    ``on_update`` receives the result so far after each phase (``complete`` False)
    and at the end, e.g. to save it: a run cut short still leaves what it measured.
    """
    from mmengine.registry import init_default_scope
    from tqdm import tqdm

    init_default_scope('mmaction')
    if settings.threads:
        torch.set_num_threads(settings.threads)
    if settings.cpu_malloc == 'keep':
        keep_freed_memory()
    device = torch.device(settings.device)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    result: Dict[str, object] = dict(settings=_settings_dict(settings),
                                     machine=machine_info(device), complete=False)
    # What is in effect: 'default' cannot undo an earlier keep_freed_memory in this process.
    result['machine']['cpu_malloc'] = ('keeps freed memory' if keeps_freed_memory()
                                       else 'glibc defaults')
    precisions = {'float32': torch.float32}
    for amp in settings.amp:
        precisions[PRECISION_NAMES[AMP_DTYPES[amp]]] = AMP_DTYPES[amp]
    peaks = {name: measure_peak(device, dtype) for name, dtype in precisions.items()}
    result['peak'] = peaks
    rows: List[dict] = []
    result.update(rows=rows, comparison=[])
    for network in tqdm(settings.networks, desc='networks', unit='network',
                        disable=not progress or len(settings.networks) < 2):
        start = len(rows)

        def publish(partial: List[dict], start: int = start) -> None:
            rows[start:] = partial
            if on_update is not None:
                on_update(result)

        publish(measure_network(candidates_for(settings, network), settings, device, peaks,
                                on_phase=publish))
    if rows:  # the peak again, under the load of the end of the run; the better counts
        for name, dtype in precisions.items():
            again = measure_peak(device, dtype)
            if again['peak_gflops'] > peaks[name]['peak_gflops']:
                peaks[name] = again
        for row in rows:
            for mode in ('inference', 'training'):
                row[mode]['fraction_of_peak'] = (row[mode]['gflops']
                                                 / peaks[row['precision']]['peak_gflops'])
    result['comparison'] = compare(rows)
    if settings.pipeline:
        result['pipeline'] = measure_pipeline(settings)
    if hasattr(os, 'getloadavg'):
        result['machine']['load_average_end'] = os.getloadavg()
    result['complete'] = True
    if on_update is not None:
        on_update(result)
    return result


def _settings_dict(settings: BenchmarkSettings) -> Dict[str, object]:
    values = asdict(settings)
    values['networks'] = list(settings.networks)
    values['amp'] = list(settings.amp)
    values['peers'] = list(settings.peers)
    if values['data_config'].startswith(ROOT):
        values['data_config'] = osp.relpath(values['data_config'], ROOT)
    return values


# ---------------------------------------------------------------------------- report


def _fmt(value: Optional[float], digits: int = 2) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def format_report(result: Dict[str, object]) -> str:
    """Markdown tables: models, the comparison with the peers, and the data pipeline."""
    settings, machine = result['settings'], result['machine']
    device = machine.get('gpu') or (f"{machine['cpu']} ({machine['torch_threads']} threads, "
                                    f"malloc {machine.get('cpu_malloc', '?')})")
    lines = [
        f"On {device}; torch {machine['torch']}." if not result['rows'] else
        f"Input {settings['clip_len']}x{settings['crop_size']}x{settings['crop_size']}, "
        f"batch {settings['batch_size']}, depth {settings['depth']}, on {device}; "
        f"torch {machine['torch']}.",
        'Peak: ' + ', '.join(
            f"{name} {peak['peak_gflops']:.0f} GFLOP/s (matmul {peak['matmul_gflops']:.0f}, "
            f"conv3d {peak['conv3d_gflops']:.0f})" for name, peak in result['peak'].items())
        + '.',
    ]
    rows = result['rows']
    if rows:
        lines += _model_table(rows) + _comparison_table(result['comparison'])
    pipeline = result.get('pipeline')
    if pipeline:
        lines += _pipeline_lines(pipeline, rows)
    return '\n'.join(lines)


def _model_table(rows: List[dict]) -> List[str]:
    lines = [
        '',
        '| network | model | precision | layout | GMAC/clip | infer clips/s | '
        'train clips/s | 10-clip test clips/s | infer GFLOP/s (% peak) | '
        'train GFLOP/s (% peak) | infer / train peak MiB | x ref infer | x ref train |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for row in rows:
        reference = _reference(rows, row['network'])
        infer, train, test = row['inference'], row['training'], row['test']
        ratios = ['-', '-']
        if reference is not None:
            ratios = [_fmt(row[mode]['clips_per_s'] / reference[mode]['clips_per_s'])
                      for mode in ('inference', 'training')]
        lines.append(
            f"| {row['network']} | {row['model']} | {row['precision']} | {row['layout']} | "
            f"{infer['gflop_per_clip'] / 2:.3g} | {infer['clips_per_s']:.3g} | "
            f"{train['clips_per_s']:.3g} | {_fmt(test and test['clips_per_s'])} | "
            f"{_fmt(infer['gflops'], 0)} ({_fmt(100 * infer['fraction_of_peak'], 0)}%) | "
            f"{_fmt(train['gflops'], 0)} ({_fmt(100 * train['fraction_of_peak'], 0)}%) | "
            f"{_fmt(infer['peak_mib'], 0)} / {_fmt(train['peak_mib'], 0)} | {ratios[0]} | "
            f"{ratios[1]} |")
    notes = {row['model']: row['note'] for row in rows if row['note']}
    lines.append('')
    lines += [f'* {model}: {note}.' for model, note in notes.items()]
    if any(row['inference']['peak_mib'] is None for row in rows):
        lines.append("* peak MiB '-': malloc keeps freed memory, so the resident size no "
                     'longer follows the model; `--cpu-malloc default` measures it.')
    lines += [f"* {row['network']} {row['model']}: compile time {row['compile_s']:.0f} s "
              '(first inference and first training call).' for row in rows
              if 'compile_s' in row]
    lines.append('* x ref: clips/s over those of the reference peer (torchvision\'s video '
                 "model, else MMAction2's, float32, as users run them).")
    return lines


def _comparison_table(comparison: List[dict]) -> List[str]:
    lines = ['', '| network | ours | x reference (infer / train) | '
             'x best peer of its precision (infer / train) |', '|---|---|---|---|']
    for entry in comparison:
        cells = []
        for key in ('reference', 'best_peer'):
            if f'inference_x_{key}' not in entry:
                cells.append('no peer')
                continue
            ratios = (f"{entry[f'inference_x_{key}']:.2f}x / "
                      f"{entry[f'training_x_{key}']:.2f}x")
            names = ((entry['reference'], ) if key == 'reference' else tuple(
                dict.fromkeys((entry['inference_best_peer'], entry['training_best_peer']))))
            cells.append(f"{ratios} ({' / '.join(names)})")
        lines.append(f"| {entry['network']} | {entry['model']} | {cells[0]} | {cells[1]} |")
    return lines


def _pipeline_lines(pipeline: dict, rows: List[dict]) -> List[str]:
    decoding = pipeline['test_decoding']
    lines = [
        '',
        f"Data pipeline ({pipeline['data_config']}, {pipeline['workers']} workers, "
        f"{pipeline['videos']} generated {pipeline['video_size']}x{pipeline['video_size']} "
        f"videos of {pipeline['video_frames']} frames): training "
        f"{pipeline['train_clips_per_s']:.1f} clips/s; {pipeline['test_clips_per_video']}-clip "
        f"test {pipeline['test_videos_per_s']:.1f} videos/s = "
        f"{pipeline['test_clips_per_s']:.1f} clips/s; "
        f"{decoding['decoder_calls_per_video']:g} decoder call(s) per test video "
        f"({decoding['frames_per_call']} frames each).",
    ]
    ours = next((row for row in rows if row['model'] == 'ours'), None)
    if ours is not None:
        lines.append(
            f"Model (ours, {ours['network']}): training {ours['training']['clips_per_s']:.3g} "
            f"clips/s, inference {ours['inference']['clips_per_s']:.3g} clips/s; the pipeline "
            f"delivers {pipeline['train_clips_per_s'] / ours['training']['clips_per_s']:.1f}x"
            f" / {pipeline['test_clips_per_s'] / ours['inference']['clips_per_s']:.1f}x "
            'what the model consumes.')
    return lines


def save_result(result: Dict[str, object], path: str) -> None:
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f, indent=2, default=str)
