"""Every ``configs/pretrained`` config builds exactly the network its weights need."""
import glob
import os

import pytest
import torch
from mmaction.registry import MODELS
from helpers import CONFIG_DIR, pretrained_config

from r21d_plugin.data.torchvision_transforms import TORCHVISION_MEAN, TORCHVISION_STD
from r21d_plugin.weights import NetworkSpec
from r21d_plugin.weights.layout import arch_group_convs

RGB_MEAN, RGB_STD = [110.201, 100.64, 95.9966], [58.1489, 56.4701, 55.3324]
VMZ = dict(stem_mid_channels=45, mid_channels_rule='per_conv', norm_eps=1e-3)
TORCHVISION = dict(stem_mid_channels=45, mid_channels_rule='per_block', norm_eps=1e-5)


def spec(arch, num_classes=400, in_channels=3, clip_len=None, source=VMZ):
    depth = int(arch.rsplit('_', 1)[1])
    return NetworkSpec(depth, arch_group_convs(arch), in_channels, num_classes,
                       clip_len=clip_len, **source)


#: config -> (the spec of the weights it is for, the clip length of its backbone)
EXPECTED = {
    'r3d_r18_torchvision_16x1x10_kinetics400-rgb.py': (spec('r3d_18', source=TORCHVISION), None),
    'mc3_r18_torchvision_16x1x10_kinetics400-rgb.py': (spec('mc3_18', source=TORCHVISION), None),
    'r2plus1d_r18_torchvision_16x1x10_kinetics400-rgb.py': (
        spec('r2plus1d_18', source=TORCHVISION), None),
    'r2plus1d_r34_vmz_8x1x10_ig65m-rgb.py': (spec('r2plus1d_34', 487), 8),
    'r2plus1d_r34_vmz_32x1x10_ig65m-rgb.py': (spec('r2plus1d_34', 359), 32),
    'r2plus1d_r34_vmz_8x1x10_kinetics400-rgb.py': (spec('r2plus1d_34'), 8),
    'r2plus1d_r34_vmz_32x1x10_kinetics400-rgb.py': (spec('r2plus1d_34'), 32),
    'r2plus1d_r34_vmz_32x1x10_kinetics400-flow.py': (spec('r2plus1d_34', in_channels=2), 32),
    **{f'r2d_r18_vmz_{n}x1x10_kinetics400-rgb.py': (spec('r2d_18', clip_len=n), n)
       for n in (8, 16)},
    **{f'fr2d_r18_vmz_{n}x1x10_kinetics400-rgb.py': (spec('r2df_18'), n) for n in (8, 16)},
    **{f'{model}_r18_vmz_{n}x1x10_kinetics400-rgb.py': (spec(f'{model}_18'), n)
       for model in ['r2plus1d', 'r3d', 'mc2', 'mc3', 'mc4', 'mc5', 'rmc2', 'rmc3', 'rmc4',
                     'rmc5'] for n in (8, 16)},
}


def test_every_config_is_checked():
    found = {os.path.basename(path) for path in glob.glob(os.path.join(CONFIG_DIR, '*.py'))}
    assert found == set(EXPECTED)


@pytest.mark.parametrize('config', sorted(EXPECTED))
def test_config_builds_the_network_of_its_weights(config):
    expected, clip_len = EXPECTED[config]
    cfg = pretrained_config(config)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    backbone = model.backbone
    assert backbone.group_convs == expected.group_convs and backbone.depth == expected.depth
    assert backbone.clip_len == clip_len
    assert backbone.norm_cfg['eps'] == expected.norm_eps
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert {norm.eps for norm in norms} == {expected.norm_eps}
    target = expected.build_target()
    state = model.state_dict()
    assert state.keys() == target.keys()
    assert all(state[key].shape == target[key].shape for key in state)
    preprocessor = cfg.model.data_preprocessor
    assert preprocessor.format_shape == 'NCTHW'
    if 'torchvision' in config:  # torchvision's own constants, for its exact preprocessing
        assert preprocessor.mean == pytest.approx([m * 255 for m in TORCHVISION_MEAN])
        assert preprocessor.std == pytest.approx([s * 255 for s in TORCHVISION_STD])
    elif expected.in_channels == 3:
        assert (preprocessor.mean, preprocessor.std) == (RGB_MEAN, RGB_STD)
    else:
        assert len(preprocessor.mean) == len(preprocessor.std) == expected.in_channels
    assert cfg.custom_imports.imports == ['r21d_plugin']
