"""r21d-two-stream-checkpoint: the two streams' checkpoints under rgb. and flow."""
import torch

from r21d_plugin.cli import two_stream_checkpoint


def test_cli_merges_the_stream_checkpoints(tmp_path, capsys):
    for name, value in (('rgb', 1.0), ('flow', 2.0)):
        torch.save(dict(state_dict={'backbone.w': torch.full((2, ), value),
                                    'cls_head.fc_cls.bias': torch.zeros(3)}, meta={}),
                   tmp_path / f'{name}.pth')
    out = tmp_path / 'two_stream.pth'
    assert two_stream_checkpoint.main([str(tmp_path / 'rgb.pth'), str(tmp_path / 'flow.pth'),
                                       str(out)]) == 0
    assert '2 RGB and 2 flow tensors' in capsys.readouterr().out
    state = torch.load(out)['state_dict']
    assert sorted(state) == ['flow.backbone.w', 'flow.cls_head.fc_cls.bias',
                             'rgb.backbone.w', 'rgb.cls_head.fc_cls.bias']
    assert state['rgb.backbone.w'][0] == 1.0 and state['flow.backbone.w'][0] == 2.0
