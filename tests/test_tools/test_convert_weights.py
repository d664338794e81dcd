"""r21d-convert-weights: parses arguments, converts, reports; errors exit 2 with a message
naming the file."""
import pytest
import torch
from torchvision.models.video import mc3_18

from r21d_plugin.cli import convert_weights as tool


def test_converts_and_summarises(tmp_path, capsys):
    src, dst = tmp_path / 'mc3_18.pth', tmp_path / 'out' / 'mc3_18_mmaction.pth'
    torch.save(mc3_18(num_classes=10).state_dict(), src)
    assert tool.main([str(src), str(dst), '--source', 'torchvision', '--arch', 'mc3_18']) == 0
    out = capsys.readouterr().out
    assert f'mc3_18.pth (torchvision, mc3_18) -> {dst}' in out
    assert 'classes 10, input channels 3, BN eps 1e-05' in out
    checkpoint = torch.load(str(dst), weights_only=True)
    assert checkpoint['meta']['arch'] == 'mc3_18'
    assert checkpoint['state_dict']['cls_head.fc_cls.weight'].shape == (10, 512)


def test_errors_exit_2_with_the_file_named(tmp_path, capsys):
    src = tmp_path / 'weights.pth'
    torch.save(mc3_18(num_classes=10).state_dict(), src)
    assert tool.main([str(src), str(tmp_path / 'out.pth'), '--source', 'caffe2']) == 2
    assert f': error: {src}: not a readable pickle' in capsys.readouterr().err
    assert not (tmp_path / 'out.pth').exists()
    assert tool.main([str(tmp_path / 'absent.pkl'), str(tmp_path / 'out.pth'),
                      '--source', 'caffe2']) == 2
    assert (f': error: checkpoint not found: {tmp_path / "absent.pkl"}, the published '
            'checkpoint to convert. Expected') in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.main([str(src), str(tmp_path / 'out.pth'), '--source', 'onnx'])
