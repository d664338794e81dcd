"""A converted checkpoint loads through MMAction2's own paths: ``load_from`` in a Runner
built from the config (the whole recognizer), and the backbone's
``init_cfg=dict(type='Pretrained', prefix='backbone.')`` for fine-tuning with a new head."""
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.runner import Runner
from helpers import pretrained_config, torchvision_model

from r21d_plugin.weights import convert_checkpoint

CONFIG = 'mc3_r18_torchvision_16x1x10_kinetics400-rgb.py'


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    directory = tmp_path_factory.mktemp('mc3')
    src, dst = directory / 'mc3_18.pth', directory / 'mc3_18_mmaction.pth'
    torch.save(torchvision_model('mc3_18').state_dict(), src)
    convert_checkpoint(str(src), str(dst), 'torchvision')
    return str(dst), torch.load(str(dst), weights_only=True)['state_dict']


def assert_loaded(model, state, prefixes=('backbone.', 'cls_head.')):
    own = model.state_dict()
    keys = [key for key in state if key.startswith(prefixes)]
    assert keys
    for key in keys:
        assert torch.equal(own[key], state[key]), key


def test_load_from_in_a_runner(converted, tmp_path):
    path, state = converted
    cfg = pretrained_config(CONFIG)
    cfg.work_dir, cfg.load_from = str(tmp_path), path
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    assert_loaded(runner.model, state)


def test_fine_tune_a_new_head_from_the_backbone(converted):
    path, state = converted
    cfg = pretrained_config(CONFIG)
    cfg.model.cls_head.num_classes = 101
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert_loaded(model.backbone, {k[len('backbone.'):]: v for k, v in state.items()
                                   if k.startswith('backbone.')}, prefixes=('',))
    assert model.cls_head.fc_cls.weight.shape == (101, 512)
