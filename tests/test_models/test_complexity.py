"""The complexity report counts what the networks compute."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmaction.registry import MODELS

from r21d_plugin import paper_backbone
from r21d_plugin.models import backbone_complexity

ROOT = Path(__file__).resolve().parents[2]


def conv_macs_by_hooks(model: torch.nn.Module, clip: torch.Tensor) -> int:
    """Multiply-adds of every Conv3d, from the output shapes of a real forward pass."""
    total = 0

    def count(conv, _inputs, output):
        nonlocal total
        kernel = conv.weight[0].numel()  # in_channels x kt x kh x kw
        total += output.numel() * kernel

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, torch.nn.Conv3d)]
    with torch.no_grad():
        out = model.eval()(clip)
    for handle in handles:
        handle.remove()
    return total, out


@pytest.mark.parametrize('name', ['R(2+1)D', 'MC4', 'R2D'])
def test_macs_params_and_conv5_agree_with_a_real_forward(name):
    overrides = dict(depth=10, base_channels=8, clip_len=8)
    model = MODELS.build(paper_backbone(name, **overrides))
    conv_macs, out = conv_macs_by_hooks(model, torch.randn(1, 3, 8, 32, 32))
    report = backbone_complexity(name, crop_size=32, num_classes=10, **overrides)
    fc_macs = 64 * 10
    assert report['gmacs'] * 1e9 == pytest.approx(conv_macs + fc_macs, abs=1)
    assert report['conv5'] == tuple(out.shape[2:])
    assert report['params'] == sum(p.numel() for p in model.parameters()) + 64 * 10 + 10


def test_report_tool_prints_every_network():
    result = subprocess.run([sys.executable, 'tools/analysis/model_complexity.py',
                             '--crop-size', '56'], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    rows = [line for line in result.stdout.splitlines() if line.startswith('| ')]
    assert len(rows) == 1 + 13  # header, twelve 18-layer networks, R(2+1)D-34
    assert '| MC3 | 18 | 11.70M | 11.7M |' in result.stdout
