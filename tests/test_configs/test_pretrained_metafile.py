"""configs/pretrained/metafile.yml (OpenMMLab's model index) against the configs it lists:
every config listed, and each model's parameters, multiply-adds, clip length, classes and
label map those of the network its config builds."""
import glob
import os

import pytest
import yaml
from helpers import CONFIG_DIR, REPO, pretrained_config

from r21d_plugin.models.complexity import recognizer_complexity

METAFILE = os.path.join(CONFIG_DIR, 'metafile.yml')


def models():
    with open(METAFILE) as file:
        return yaml.safe_load(file)['Models']


def test_model_index_imports_the_metafile():
    with open(REPO / 'model-index.yml') as file:
        assert yaml.safe_load(file) == {'Import': ['configs/pretrained/metafile.yml']}


def test_every_config_is_listed_and_every_listed_config_exists():
    listed = {model['Config'] for model in models()}
    found = {os.path.relpath(path, REPO)
             for path in glob.glob(os.path.join(CONFIG_DIR, '*.py'))}
    assert listed == found
    names = [model['Name'] for model in models()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize('model', models(), ids=lambda model: model['Name'])
def test_metadata_is_the_configs_network(model):
    cfg = pretrained_config(os.path.basename(model['Config']))
    meta = model['Metadata']
    sampler = next(step for step in cfg.test_pipeline if step['type'] == 'SampleFrames')
    on_the_fly_flow = any(step['type'] == 'FarnebackFlow' for step in cfg.test_pipeline)
    assert meta['Clip Length'] == sampler['clip_len'] - on_the_fly_flow
    assert model['Modality'] == ('Flow' if on_the_fly_flow else 'RGB')
    assert meta['Classes'] == cfg.model.cls_head.num_classes
    assert meta['Label Map'] == cfg.label_map
    complexity = recognizer_complexity(cfg.model, meta['Clip Length'])
    assert meta['Parameters'] == complexity['params']
    assert meta['FLOPs'] == f"{complexity['gmacs']:.2f}G"
    source = model['Converted From']
    file_hash = source['File'].rsplit('-', 1)[-1].split('.')[0]
    if source['File'].endswith('.pth'):  # torch.hub names files with their hash prefix
        assert source['SHA256 Prefix'] == file_hash and len(file_hash) == 8
    else:  # VMZ's Caffe2 files carry none
        assert source['SHA256 Prefix'] == 'unknown'
    assert source['Weights'].endswith(source['File'])
