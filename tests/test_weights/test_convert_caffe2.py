"""VMZ Caffe2 .pkl: blob dicts in VMZ's naming, written as Python 2 pickles, converted back.

The Caffe2 names are produced here from VMZ's builders' naming rules (``r3d_model.py``,
``video_model.py``), independently of the converter's table: once from our own randomly
initialised networks, once from torchvision / ig65m-pytorch models through the
correspondence ig65m-pytorch's converter uses.
"""
import copy

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from helpers import (config_model, logits, to_blobs, torchvision_blobs, torchvision_model,
                     write_python2_pickle)

from r21d_plugin import paper_backbone
from r21d_plugin.weights import ConversionError, convert_checkpoint, convert_state_dict

#: Our module names -> VMZ blob prefixes ({i}: block counter, {j}: conv in the block).
_BLOCK = r'backbone\.layer(?P<stage>\d)\.(?P<block>\d+)\.conv(?P<j>\d)'
_SHORTCUT = r'backbone\.layer(?P<stage>\d)\.(?P<block>0)\.downsample'
OUR_NAMES = [
    (r'backbone\.conv1\.conv\.spatial', 'conv1_middle'),
    (r'backbone\.conv1\.conv\.mid_norm', 'conv1_middle_spatbn_relu'),
    (r'backbone\.conv1\.conv(\.temporal)?', 'conv1'),
    (r'backbone\.conv1\.norm', 'conv1_spatbn_relu'),
    (_BLOCK + r'\.conv\.spatial', 'comp_{i}_conv_{j}_middle'),
    (_BLOCK + r'\.conv\.mid_norm', 'comp_{i}_spatbn_{j}_middle'),
    (_BLOCK + r'\.conv(\.temporal)?', 'comp_{i}_conv_{j}'),
    (_BLOCK + r'\.norm', 'comp_{i}_spatbn_{j}'),
    (_SHORTCUT + r'\.conv', 'shortcut_projection_{i}'),
    (_SHORTCUT + r'\.norm', 'shortcut_projection_{i}_spatbn'),
    (r'cls_head\.fc_cls', 'last_out_L{n}'),
]


def our_random_network(name: str, depth: int, clip_len: int, in_channels: int,
                       num_classes: int, seed: int) -> dict:
    """The tensors of one of our networks (built by the paper presets), all random."""
    with torch.device('meta'):
        backbone = MODELS.build(paper_backbone(name, depth=depth, clip_len=clip_len,
                                               in_channels=in_channels))
    generator = torch.Generator().manual_seed(seed)
    state = {f'backbone.{key}': torch.rand(value.shape, generator=generator) + 0.1
             for key, value in backbone.state_dict().items()
             if not key.endswith('num_batches_tracked')}
    state['cls_head.fc_cls.weight'] = torch.randn(num_classes, 512, generator=generator)
    state['cls_head.fc_cls.bias'] = torch.randn(num_classes, generator=generator)
    return state


# (paper name, VMZ arch, clip_len, in_channels, whether --arch is given, its config)
FAMILIES = [
    ('R(2+1)D', 'r2plus1d_18', 8, 3, True, 'r2plus1d_r18_vmz_8x1x10_kinetics400-rgb.py'),
    ('R2D', 'r2d_18', 16, 3, False, 'r2d_r18_vmz_16x1x10_kinetics400-rgb.py'),
    ('MC4', 'mc4_18', 8, 3, False, 'mc4_r18_vmz_8x1x10_kinetics400-rgb.py'),
    ('rMC3', 'rmc3_18', 8, 3, True, 'rmc3_r18_vmz_8x1x10_kinetics400-rgb.py'),
    ('f-R2D', 'r2df_18', 8, 3, False, 'fr2d_r18_vmz_8x1x10_kinetics400-rgb.py'),
    ('R(2+1)D', 'r2plus1d_18', 8, 2, False, None),  # a flow network: 2 input channels
]


@pytest.mark.parametrize('name,arch,clip_len,in_channels,named,config', FAMILIES)
def test_blobs_of_our_networks_convert_back_exactly(name, arch, clip_len, in_channels, named,
                                                    config, tmp_path):
    state = our_random_network(name, 18, clip_len, in_channels, 400, seed=len(arch))
    src, dst = tmp_path / f'{arch}.pkl', tmp_path / 'converted.pth'
    write_python2_pickle({'blobs': to_blobs(state, OUR_NAMES, 18, 400)}, str(src))

    meta = convert_checkpoint(str(src), str(dst), 'caffe2', arch=arch if named else None)

    assert meta['arch'] == arch
    assert meta['backbone']['in_channels'] == in_channels
    assert meta['backbone']['clip_len'] == (clip_len if name == 'R2D' else None)
    converted = torch.load(str(dst), weights_only=True)['state_dict']
    for key, tensor in converted.items():
        if key.endswith('num_batches_tracked'):
            assert tensor.item() == 0 and key in meta['not_in_source']
        else:
            assert torch.equal(tensor, state[key]), key
    assert len(converted) == len(state) + len(meta['not_in_source'])
    if config:
        with torch.device('meta'):
            model = config_model(config)
        model.load_state_dict(converted, strict=True, assign=True)


@pytest.mark.parametrize('arch,config', [('r3d_18', 'r3d_r18_vmz_8x1x10_kinetics400-rgb.py'),
                                         ('mc3_18', 'mc3_r18_vmz_8x1x10_kinetics400-rgb.py')])
def test_blobs_of_a_caffe2_like_torchvision_model_give_its_outputs(arch, config, tmp_path):
    # torchvision's network with Caffe2's BN epsilon computes what VMZ's Caffe2 model does.
    source = copy.deepcopy(torchvision_model(arch))
    for module in source.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            module.eps = 1e-3
    src, dst = tmp_path / f'{arch}.pkl', tmp_path / 'converted.pth'
    write_python2_pickle({'blobs': torchvision_blobs(source, 18)}, str(src))

    convert_checkpoint(str(src), str(dst), 'caffe2', arch=arch)

    model = config_model(config)
    model.load_state_dict(torch.load(str(dst), weights_only=True)['state_dict'], strict=True)
    clip = torch.randn(1, 3, 8, 32, 32)
    torch.testing.assert_close(logits(model, clip), logits(source, clip), rtol=0, atol=1e-4)


def test_r2plus1d_34_blobs_equal_the_ig65m_pytorch_weights(ig65m_8f, tmp_path):
    src, dst = tmp_path / 'r2plus1d_34_clip8_ig65m_from_scratch.pkl', tmp_path / 'c2.pth'
    write_python2_pickle({'blobs': torchvision_blobs(ig65m_8f, 34)}, str(src))

    meta = convert_checkpoint(str(src), str(dst), 'caffe2', arch='r2plus1d_34')

    from_pth, pth_meta = convert_state_dict(ig65m_8f.state_dict(), 'vmz-pt')
    assert meta['backbone'] == pth_meta['backbone'] and meta['num_classes'] == 487
    converted = torch.load(str(dst), weights_only=True)['state_dict']
    assert converted.keys() == from_pth.keys()
    for key, tensor in converted.items():
        if not key.endswith('num_batches_tracked'):
            assert torch.equal(tensor, from_pth[key]), key


def test_missing_and_misshaped_blobs_are_named(tmp_path):
    state = our_random_network('f-R2D', 18, 8, 3, 10, seed=1)
    blobs = to_blobs(state, OUR_NAMES, 18, 10)
    del blobs['comp_5_spatbn_2_riv']
    blobs['shortcut_projection_4_w'] = np.zeros((256, 128, 1, 1, 2), np.float32)
    src = tmp_path / 'broken.pkl'
    write_python2_pickle({'blobs': blobs}, str(src))
    with pytest.raises(ConversionError, match="missing source keys \\(1\\): "
                       "'comp_5_spatbn_2_riv'"):
        convert_checkpoint(str(src), str(tmp_path / 'out.pth'), 'caffe2')
    blobs['comp_5_spatbn_2_riv'] = np.ones(256, np.float32)
    write_python2_pickle({'blobs': blobs}, str(src))
    with pytest.raises(ConversionError, match=r"shortcut_projection_4_w \(256, 128, 1, 1, 2\) "
                       r"-> backbone.layer3.0.downsample.conv.weight \(256, 128, 1, 1, 1\)"):
        convert_checkpoint(str(src), str(tmp_path / 'out.pth'), 'caffe2')
