"""torchvision's r3d_18, mc3_18 and r2plus1d_18, saved, converted and compared."""
import hashlib

import pytest
import torch
from mmengine.runner import load_checkpoint
from helpers import config_model, logits, torchvision_model

from r21d_plugin.weights import ConversionError, convert_checkpoint

CONFIGS = {
    'r3d_18': 'r3d_r18_torchvision_16x1x10_kinetics400-rgb.py',
    'mc3_18': 'mc3_r18_torchvision_16x1x10_kinetics400-rgb.py',
    'r2plus1d_18': 'r2plus1d_r18_torchvision_16x1x10_kinetics400-rgb.py',
}


@pytest.mark.parametrize('arch', sorted(CONFIGS))
def test_outputs_equal_torchvision(arch, tmp_path):
    source = torchvision_model(arch)
    src, dst = tmp_path / f'{arch}.pth', tmp_path / 'converted.pth'
    torch.save(source.state_dict(), src)

    meta = convert_checkpoint(str(src), str(dst), 'torchvision')

    assert meta['arch'] == arch and meta['num_classes'] == 400
    assert meta['source_sha256'] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert meta['not_in_source'] == []
    model = config_model(CONFIGS[arch])
    load_checkpoint(model, str(dst), map_location='cpu', strict=True, logger='silent')
    clip = torch.randn(1, 3, 8, 32, 32)
    expected = logits(source, clip)
    assert expected.abs().max() > 1  # a non-degenerate comparison
    torch.testing.assert_close(logits(model, clip), expected, rtol=0, atol=1e-4)


def test_named_arch_is_checked(tmp_path):
    src = tmp_path / 'mc3_18.pth'
    torch.save(torchvision_model('mc3_18').state_dict(), src)
    convert_checkpoint(str(src), str(tmp_path / 'ok.pth'), 'torchvision', arch='mc3_18')
    # r3d_18 has the same keys; its 3x3x3 kernels in conv3_x..conv5_x do not fit.
    with pytest.raises(ConversionError) as error:
        convert_checkpoint(str(src), str(tmp_path / 'bad.pth'), 'torchvision', arch='r3d_18')
    message = str(error.value)
    assert "layer2.0.conv1.0.weight (128, 64, 1, 3, 3) -> " \
           "backbone.layer2.0.conv1.conv.weight (128, 64, 3, 3, 3)" in message
    assert 'looks like mc3_18' in message
    with pytest.raises(ConversionError, match="torchvision publishes .* not 'r2plus1d_34'"):
        convert_checkpoint(str(src), str(tmp_path / 'bad.pth'), 'torchvision',
                           arch='r2plus1d_34')


def test_per_block_mid_channels_are_refused_as_vmz(tmp_path):
    src = tmp_path / 'r2plus1d_18.pth'
    torch.save(torchvision_model('r2plus1d_18').state_dict(), src)
    with pytest.raises(ConversionError, match=r"per-block .* r2plus1d_18.*--source vmz-pt.*"
                       r"eps 0\.001; use --source torchvision"):
        convert_checkpoint(str(src), str(tmp_path / 'bad.pth'), 'vmz-pt')


def test_pth_is_loaded_with_weights_only(tmp_path):
    src = tmp_path / 'pickled_module.pth'
    torch.save(torch.nn.Linear(2, 2), src)  # a whole module: needs unsafe unpickling
    with pytest.raises(ConversionError, match='weights_only=True'):
        convert_checkpoint(str(src), str(tmp_path / 'out.pth'), 'torchvision')
    src = tmp_path / 'not_a_state_dict.pth'
    torch.save({'epoch': 3, 'fc.weight': torch.zeros(2, 2)}, src)
    with pytest.raises(ConversionError, match="expected a state dict .* keys \\['epoch'"):
        convert_checkpoint(str(src), str(tmp_path / 'out.pth'), 'torchvision')
