"""Every ``configs/pretrained`` config runs on a video as it is: through MMAction2's own
``init_recognizer`` / ``inference_recognizer``, and through ``predict`` with the same
result, with its label map and number of classes. To run in seconds, the networks are a
sixteenth as wide and the test takes 2 of its 10 clips."""
import glob
import os

import numpy as np
import pytest
from helpers import CONFIG_DIR, pretrained_config, write_video
from mmaction.apis import inference_recognizer, init_recognizer

from r21d_plugin.apis import load_recognizer, predict
from r21d_plugin.label_maps import load_label_map

CONFIGS = sorted(os.path.basename(path) for path in glob.glob(os.path.join(CONFIG_DIR, '*.py')))
SMALL = {'model.backbone.base_channels': 4, 'model.backbone.stem_mid_channels': 4,
         'model.cls_head.in_channels': 32, 'test_pipeline.1.num_clips': 2}


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    return str(write_video(tmp_path_factory.mktemp('video') / 'clip.mp4', 40))


@pytest.mark.parametrize('config', CONFIGS)
def test_config_runs_in_mmaction2_and_predict_agrees(config, video):
    cfg = pretrained_config(config)
    assert cfg.test_pipeline[1]['type'] == 'SampleFrames'
    cfg.merge_from_dict(SMALL)
    ours = load_recognizer(cfg)
    model = init_recognizer(cfg, device='cpu')
    model.load_state_dict(ours.model.state_dict())
    reference = inference_recognizer(model, video)
    result = predict(ours, video)
    np.testing.assert_allclose(result.result.scores, reference.pred_score.numpy(), atol=1e-5)

    assert ours.num_classes == cfg.model.cls_head.num_classes == len(result.result.scores)
    if cfg.label_map is None:  # IG-65M's classes have no public names
        assert ours.labels is None and result.topk[0][1] == str(result.topk[0][0])
    else:
        assert ours.labels == load_label_map(cfg.label_map)
    sampler = next(step for step in cfg.test_pipeline if step['type'] == 'SampleFrames')
    assert result.clip_frames.shape == (sampler['num_clips'], sampler['clip_len'])
