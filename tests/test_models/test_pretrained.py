"""``pretrained=`` loads a recognizer checkpoint's backbone, or a bare backbone, strictly."""
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

from r21d_plugin.engine.checkpoint_loading import CheckpointMismatchError
from r21d_plugin import paper_backbone

init_default_scope('mmaction')
TINY = dict(depth=10, base_channels=8)


def randomised_state(model: torch.nn.Module) -> dict:
    torch.manual_seed(0)
    return {k: torch.randn_like(v) if v.is_floating_point()
            else v for k, v in model.state_dict().items()}


@pytest.mark.parametrize('layout', ['recognizer', 'bare'])
def test_pretrained_loads_backbone_weights(tmp_path, layout):
    source = MODELS.build(paper_backbone('R(2+1)D', **TINY))
    state = randomised_state(source)
    if layout == 'recognizer':
        saved = {'state_dict': {**{f'backbone.{k}': v for k, v in state.items()},
                                'cls_head.fc_cls.weight': torch.zeros(5, 64)}}
    else:
        saved = state
    path = tmp_path / 'weights.pth'
    torch.save(saved, path)
    model = MODELS.build(paper_backbone('R(2+1)D', pretrained=str(path), **TINY))
    model.init_weights()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key])


def test_pretrained_of_another_network_is_refused_by_name(tmp_path):
    path = tmp_path / 'mc3.pth'
    torch.save(MODELS.build(paper_backbone('MC3', **TINY)).state_dict(), path)
    model = MODELS.build(paper_backbone('R(2+1)D', pretrained=str(path), **TINY))
    with pytest.raises(CheckpointMismatchError, match=r'checkpoint .*mc3\.pth does not fit \w+: '
                                                      r'.*keys missing from the checkpoint '
                                                      r'\(conv1\.conv\.spatial'):
        model.init_weights()


def test_pretrained_and_init_cfg_exclude_each_other():
    with pytest.raises(ValueError, match='not both'):
        MODELS.build(paper_backbone('R3D', pretrained='a.pth',
                                    init_cfg=dict(type='Pretrained', checkpoint='a.pth')))
