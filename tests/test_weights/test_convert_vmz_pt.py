"""ig65m-pytorch / VMZ-pt R(2+1)D-34: torchvision modules with VMZ's per-conv mid channels."""
import pytest
import torch
from mmengine.runner import load_checkpoint
from helpers import config_model, logits

from r21d_plugin.weights import ConversionError, convert_checkpoint, convert_state_dict


def test_outputs_equal_ig65m_pytorch(ig65m_8f, tmp_path):
    src, dst = tmp_path / 'r2plus1d_34_clip8_ig65m.pth', tmp_path / 'converted.pth'
    torch.save(ig65m_8f.state_dict(), src)

    meta = convert_checkpoint(str(src), str(dst), 'vmz-pt', arch='r2plus1d_34')

    assert meta['arch'] == 'r2plus1d_34' and meta['num_classes'] == 487
    assert meta['backbone']['mid_channels_rule'] == 'per_conv'
    assert meta['backbone']['stem_mid_channels'] == 45
    assert meta['backbone']['norm_cfg']['eps'] == 1e-3
    model = config_model('r2plus1d_r34_vmz_8x1x10_ig65m-rgb.py')
    load_checkpoint(model, str(dst), map_location='cpu', strict=True, logger='silent')
    clip = torch.randn(1, 3, 8, 32, 32)
    torch.testing.assert_close(logits(model, clip), logits(ig65m_8f, clip), rtol=0, atol=1e-4)


@pytest.mark.parametrize('num_classes,config', [
    (359, 'r2plus1d_r34_vmz_32x1x10_ig65m-rgb.py'),
    (400, 'r2plus1d_r34_vmz_32x1x10_kinetics400-rgb.py')])
def test_other_heads_fit_their_configs(ig65m_8f, num_classes, config):
    state = dict(ig65m_8f.state_dict(), **{'fc.weight': torch.randn(num_classes, 512),
                                           'fc.bias': torch.randn(num_classes)})
    converted, meta = convert_state_dict(state, 'vmz-pt')
    assert meta['arch'] == 'r2plus1d_34' and meta['num_classes'] == num_classes
    with torch.device('meta'):
        model = config_model(config)
    model.load_state_dict(converted, strict=True, assign=True)
    assert torch.equal(model.cls_head.fc_cls.weight, state['fc.weight'])


def test_per_conv_mid_channels_are_refused_as_torchvision(ig65m_8f):
    with pytest.raises(ConversionError, match=r"per-conv .*VMZ's.*--source torchvision .*"
                       r"eps 1e-05; use --source vmz-pt"):
        convert_state_dict(ig65m_8f.state_dict(), 'torchvision')
