"""The two-stream configs: every two-stream row of the paper's Tables 4-6, each made of the
two single-stream experiment configs, testing both streams on the same clips."""
import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

import r21d_plugin  # noqa: F401
from r21d_plugin.data.flow import FLOW_MEAN, FLOW_STD

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')
TABLE_ROWS = (
    # Table 4: Sports-1M, 8 and 32 frames
    ['r2plus1d_r34_8xb32-8x1x1-45e_sports1m', 'r2plus1d_r34_8xb32-32x1x1-45e_sports1m'] +
    # Table 5: Kinetics from scratch and from Sports-1M
    ['r2plus1d_r34_8xb32-32x1x1-45e_kinetics400',
     'r2plus1d_sports1m-pretrained-r34_8xb32-32x1x1-15e_kinetics400'] +
    # Table 6: UCF101 / HMDB51 from Sports-1M / Kinetics, 3 splits each
    [f'r2plus1d_{pre}-pretrained-r34_8xb4-32x1x1-8e_{ds}-split{k}'
     for ds in ('ucf101', 'hmdb51') for pre in ('sports1m', 'kinetics400') for k in (1, 2, 3)])
TWO_STREAM = sorted(osp.basename(p)
                    for p in glob.glob(osp.join(CONFIGS, 'two_stream', '*two-stream*.py')))


def sampler(pipeline):
    return next(step for step in pipeline if step['type'] == 'SampleFrames')


def test_every_two_stream_row_has_a_config():
    assert {f'{row}-two-stream.py' for row in TABLE_ROWS} <= set(TWO_STREAM)
    assert len(TABLE_ROWS) == 16


@pytest.mark.parametrize('name', TWO_STREAM)
def test_two_stream_config_pairs_the_single_stream_configs(name):
    cfg = Config.fromfile(osp.join(CONFIGS, 'two_stream', name))
    model = cfg.model
    assert model.type == 'TwoStreamRecognizer' and model.fusion_alpha == 0.5
    assert model.rgb.backbone.in_channels == 3 and model.flow.backbone.in_channels == 2
    assert model.rgb.backbone.type == model.flow.backbone.type
    assert model.rgb.cls_head.num_classes == model.flow.cls_head.num_classes
    np.testing.assert_allclose(model.flow.data_preprocessor.mean, FLOW_MEAN)
    np.testing.assert_allclose(model.flow.data_preprocessor.std, FLOW_STD)
    assert cfg.test_evaluator.type == 'TwoStreamClipVideoAccuracy'
    steps = [step['type'] for step in cfg.test_dataloader.dataset.pipeline]
    assert steps[-1] == 'PackActionInputs'
    assert cfg.test_dataloader.dataset.pipeline[-1].collect_keys == ('imgs', 'flow_imgs')
    assert 'num_clips' in cfg.test_dataloader.dataset.pipeline[-1].meta_keys
    clips = sampler(cfg.test_dataloader.dataset.pipeline)
    clip_len = model.rgb.backbone.clip_len
    if 'rawframes' in name:  # offline flow of the RGB clip's own frames
        assert 'LoadAlignedFlow' in steps and clips.clip_len == clip_len
    else:  # both streams from the same L+1 frames: L RGB frames, L flow frames
        assert 'FarnebackFlow' in steps and clips.clip_len == clip_len + 1
    assert clips.num_clips == (100 if 'sports1m-two' in name else 10)
    assert clips.test_mode
