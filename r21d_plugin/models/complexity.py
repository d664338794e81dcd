"""Parameters, multiply-adds and conv5 output size of the paper's networks.

Shapes and counts are computed on the ``meta`` device: no memory and no arithmetic, so the
whole family at full size is reported in seconds.
"""
from typing import Callable, Dict, Iterable, List, Tuple

import torch
from torch.utils.flop_counter import FlopCounterMode

from mmaction.registry import MODELS
from .presets import PAPER_NAMES, PAPER_TABLE2_PARAMS_M, paper_backbone


def backbone_complexity(name: str, depth: int = 18, clip_len: int = 8,
                        crop_size: int = 112, num_classes: int = 400,
                        in_channels: int = 3, **overrides) -> Dict[str, object]:
    """Complexity of one network of the paper with a ``num_classes``-way fc.

    ``overrides`` go to ``paper_backbone`` (e.g. ``base_channels``).

    Returns:
        dict: ``params`` (backbone and fc), ``gmacs`` (10^9 multiply-adds per clip, convs
        and fc), ``conv5`` (the (T, H, W) of the last feature map).
    """
    with torch.device('meta'):
        backbone = MODELS.build(paper_backbone(name, depth=depth, clip_len=clip_len,
                                               in_channels=in_channels, **overrides))
        fc = torch.nn.Linear(backbone.feat_dim, num_classes)
    return _complexity(backbone, lambda features: fc(features.mean(dim=(2, 3, 4))),
                       [backbone, fc], (in_channels, clip_len, crop_size))


def recognizer_complexity(model: dict, clip_len: int, crop_size: int = 112) -> Dict[str, object]:
    """Complexity of a recognizer config (``cfg.model``: backbone and ``cls_head``) on one
    ``clip_len x crop_size x crop_size`` clip; returns what ``backbone_complexity`` does."""
    with torch.device('meta'):
        recognizer = MODELS.build(model)
    in_channels = recognizer.backbone.in_channels
    return _complexity(recognizer.backbone, recognizer.cls_head, [recognizer],
                       (in_channels, clip_len, crop_size))


def _complexity(backbone: torch.nn.Module, head: Callable[[torch.Tensor], torch.Tensor],
                modules: Iterable[torch.nn.Module],
                clip_shape: Tuple[int, int, int]) -> Dict[str, object]:
    in_channels, clip_len, crop_size = clip_shape
    with torch.device('meta'):
        clip = torch.empty(1, in_channels, clip_len, crop_size, crop_size)
    backbone.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        features = backbone(clip)
        head(features)
    params = sum(p.numel() for module in modules for p in module.parameters())
    return dict(params=params, gmacs=counter.get_total_flops() / 2 / 1e9,
                conv5=tuple(features.shape[2:]))


#: (network, depth, clip lengths) of the report: Table 2's family at 8 and 16 frames,
#: and the R(2+1)D-34 of Tables 4-6 at 8 and 32.
REPORT_ROWS: Tuple[Tuple[str, int, Tuple[int, int]], ...] = tuple(
    (name, 18, (8, 16)) for name in PAPER_NAMES) + (('R(2+1)D', 34, (8, 32)), )


def complexity_table(rows: Iterable[Tuple[str, int, Tuple[int, int]]] = REPORT_ROWS,
                     crop_size: int = 112) -> str:
    """A Markdown table of parameters, GMACs and conv5 sizes, beside the paper's counts."""
    lines = [
        '| network | depth | params (fc 400) | paper Table 2 | GMACs / clip | conv5 (T x H x W) |',
        '|---|---|---|---|---|---|',
    ]
    for name, depth, clip_lens in rows:
        results: List[Dict[str, object]] = [
            backbone_complexity(name, depth, clip_len, crop_size) for clip_len in clip_lens]
        paper = PAPER_TABLE2_PARAMS_M.get(name) if depth == 18 else None
        macs = ' / '.join(f"{r['gmacs']:.1f} ({n}f)" for r, n in zip(results, clip_lens))
        sizes = ' / '.join('x'.join(map(str, r['conv5'])) for r in results)
        # R2D's conv1 spans the clip, so its parameters depend on the clip length.
        params = ' / '.join(sorted({f"{r['params'] / 1e6:.2f}M" for r in results}))
        lines.append(f"| {name} | {depth} | {params} | "
                     f"{f'{paper}M' if paper else '-'} | {macs} | {sizes} |")
    return '\n'.join(lines)
