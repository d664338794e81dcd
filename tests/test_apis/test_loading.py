"""The one loader: configs by name or path, a checkpoint checked against its config."""
import pytest
import torch
from helpers import REPO, random_checkpoint, tiny_recognizer_config

from r21d_plugin.apis.loading import RecognizerLoadError, load_config, load_model
from r21d_plugin.configs import ConfigNotFoundError

NAME = 'r2plus1d_r18_torchvision_16x1x10_kinetics400-rgb'
#: Width-4 overrides of a real config (the head follows the last stage's channels).
TINY = {'model.backbone.base_channels': 4, 'model.cls_head.in_channels': 32}


def test_configs_load_by_name_or_path():
    path = REPO / 'configs' / 'pretrained' / f'{NAME}.py'
    by_name, by_path = load_config(NAME), load_config(str(path))
    assert by_name.filename == by_path.filename == str(path)
    assert load_config(f'pretrained/{NAME}', TINY).model.backbone.base_channels == 4
    with pytest.raises(ConfigNotFoundError, match='config not found'):
        load_config('r2plus1d_r18_no_such_config')


def test_a_checkpoint_loads_into_the_model_of_a_config_name(tmp_path):
    reference = load_model(NAME, cfg_options=TINY)
    checkpoint = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict=reference.state_dict()), checkpoint)
    model = load_model(NAME, str(checkpoint), cfg_options=TINY)
    assert not model.training and model.cfg.filename.endswith(f'{NAME}.py')
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)
    with pytest.raises(RecognizerLoadError, match=r'^checkpoint .*absent\.pth: no such file$'):
        load_model(NAME, str(tmp_path / 'absent.pth'), cfg_options=TINY)


def test_module_prefixes_of_distributed_wrappers_are_removed(tmp_path):
    cfg = tiny_recognizer_config()
    checkpoint = random_checkpoint(cfg, tmp_path / 'plain.pth')
    state = torch.load(checkpoint)['state_dict']
    torch.save(dict(state_dict={f'module.{key}': value for key, value in state.items()}),
               tmp_path / 'wrapped.pth')
    model = load_model(cfg, str(tmp_path / 'wrapped.pth'))
    for key, value in state.items():
        torch.testing.assert_close(model.state_dict()[key], value)
