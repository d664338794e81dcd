"""MultiClipRecognizer3D keeps per-clip scores beside MMAction2's video score."""
import pytest
import torch
from mmengine.registry import init_default_scope

import r21d_plugin

init_default_scope('mmaction')


def _recognizer():
    from mmaction.registry import MODELS
    model = MODELS.build(dict(
        type='MultiClipRecognizer3D',
        backbone=r21d_plugin.paper_backbone('R(2+1)D', depth=10, base_channels=4),
        cls_head=dict(type='I3DHead', num_classes=5, in_channels=32, average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
    model.init_weights()
    return model.eval()


def _samples(num, num_clips=None):
    from mmaction.structures import ActionDataSample
    samples = []
    for label in range(num):
        sample = ActionDataSample().set_gt_label(torch.tensor([label]))
        if num_clips is not None:
            sample.set_metainfo(dict(num_clips=num_clips))
        samples.append(sample)
    return samples


def test_clip_scores_are_each_clips_softmax_and_average_to_pred_score():
    torch.manual_seed(0)
    model = _recognizer()
    inputs = torch.randn(2, 4, 3, 8, 16, 16)  # 2 videos x 4 clips
    with torch.no_grad():
        out = model(inputs, _samples(2), mode='predict')
        single = model(inputs[1:2, 2:3], _samples(1), mode='predict')[0]
    assert out[0].clip_scores.shape == (4, 5)
    torch.testing.assert_close(out[0].clip_scores.sum(-1), torch.ones(4))
    for sample in out:
        torch.testing.assert_close(sample.clip_scores.mean(0), sample.pred_score)
    # Row 2 of video 1 is exactly what that clip scores alone (BN in eval mode).
    torch.testing.assert_close(out[1].clip_scores[2], single.clip_scores[0], atol=1e-5,
                               rtol=1e-4)


def test_crops_of_a_clip_are_averaged_into_its_row():
    views = torch.arange(12.).view(6, 2)  # 3 crops x 2 clips, crop-major as FormatShape
    clips = r21d_plugin.models.MultiClipRecognizer3D.views_to_clips(views, num_clips=2)
    torch.testing.assert_close(clips, torch.stack([views[0::2].mean(0), views[1::2].mean(0)]))
    with pytest.raises(ValueError, match='cannot be split into 4 clips'):
        r21d_plugin.models.MultiClipRecognizer3D.views_to_clips(views, num_clips=4)


def test_num_clips_metainfo_groups_three_crop_views():
    torch.manual_seed(0)
    model = _recognizer()
    with torch.no_grad():
        out = model(torch.randn(1, 6, 3, 8, 16, 16), _samples(1, num_clips=2), mode='predict')
    assert out[0].clip_scores.shape == (2, 5)
    torch.testing.assert_close(out[0].clip_scores.mean(0), out[0].pred_score)


def test_three_crop_option_of_the_demo_test_pipeline(tiny_demo_config):
    """ThreeCrop instead of CenterCrop in the 10-clip test: 30 views, one row per clip.

    (ThreeCrop's crop is the frames' short side, 32 here: on square frames its three crops
    coincide, which is fine for checking the bookkeeping.)"""
    from mmaction.registry import DATASETS, MODELS
    from mmengine.config import Config

    cfg = Config.fromfile(str(tiny_demo_config('R(2+1)D')))
    cfg.merge_from_dict({'test_dataloader.dataset.pipeline.3': dict(type='ThreeCrop',
                                                                     crop_size=32)})
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    model = MODELS.build(cfg.model).eval()
    batch = model.data_preprocessor(dict(inputs=[dataset[0]['inputs']],
                                         data_samples=[dataset[0]['data_samples']]))
    assert batch['inputs'].shape[:2] == (1, 30)
    with torch.no_grad():
        out = model(**batch, mode='predict')[0]
    assert out.clip_scores.shape == (10, 8)
    torch.testing.assert_close(out.clip_scores.mean(0), out.pred_score)
