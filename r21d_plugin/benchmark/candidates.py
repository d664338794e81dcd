"""The rows of a run: each network's own model and its peers, with the switches they run
under."""
import copy
from dataclasses import dataclass
from typing import Callable, List, Optional

import torch
import torch.nn as nn

from mmaction.registry import MODELS
from ..models import paper_backbone
from .peers import (PooledClassifier, Prepared, drop_stem_pool, mmaction_peer_cfg,
                    torchvision_frames_peer, torchvision_video_peer)
from .settings import AMP_DTYPES, BenchmarkSettings, PRECISION_NAMES


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
            lambda: _backbone_classifier(mm_cfg, num_classes, drop_stem_pool),
            backbone_cfg=mm_cfg, patch_backbone=drop_stem_pool, measure_test=True,
            note=note))
    try:
        import torchvision  # noqa: F401  (only whether it is installed)
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


def prepare(row: Candidate, device: torch.device) -> nn.Module:
    model = row.build().to(device)
    if row.memory_format is not torch.contiguous_format:
        model = to_memory_format(model, row.memory_format)
    return Prepared(model, row.memory_format, row.autocast_dtype, device.type)


def to_memory_format(model: nn.Module, memory_format: torch.memory_format) -> nn.Module:
    # 5-D parameters take the 3-D format, 4-D ones (2D networks on frames) the 2-D one.
    for param in model.parameters():
        if param.dim() == 5:
            param.data = param.data.contiguous(memory_format=memory_format)
        elif param.dim() == 4:
            param.data = param.data.contiguous(memory_format=torch.channels_last)
    return model
