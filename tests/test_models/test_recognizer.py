"""The backbones inside MMAction2: Recognizer3D + I3DHead, and configs that inherit
``mmaction::`` bases and swap in our backbone through ``custom_imports``."""
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope

from r21d_plugin import PAPER_NAMES, paper_backbone

init_default_scope('mmaction')


def recognizer(backbone: dict, num_classes: int = 5) -> torch.nn.Module:
    model = MODELS.build(dict(
        type='Recognizer3D', backbone=backbone,
        cls_head=dict(type='I3DHead', in_channels=backbone.get('base_channels', 64) * 8,
                      num_classes=num_classes, average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
    model.init_weights()
    return model


def batch(num_videos: int, num_clips: int, clip_len: int, size: int = 32) -> dict:
    samples = [ActionDataSample().set_gt_label(torch.tensor([i % 5]))
               for i in range(num_videos)]
    inputs = [torch.randint(0, 255, (num_clips, 3, clip_len, size, size),
                            dtype=torch.uint8) for _ in range(num_videos)]
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('name', PAPER_NAMES)
def test_forward_backward_through_recognizer3d(name):
    model = recognizer(paper_backbone(name, depth=10, base_channels=8))
    data = model.data_preprocessor(batch(2, 1, 8), training=True)
    losses = model(**data, mode='loss')
    losses['loss_cls'].backward()
    assert torch.isfinite(losses['loss_cls'])
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_multi_clip_prediction_averages_clips():
    model = recognizer(paper_backbone('R(2+1)D', depth=10, base_channels=8)).eval()
    data = model.data_preprocessor(batch(2, 10, 8), training=False)
    with torch.no_grad():
        predictions = model(**data, mode='predict')
    assert len(predictions) == 2
    scores = torch.stack([p.pred_score for p in predictions])
    assert scores.shape == (2, 5)
    torch.testing.assert_close(scores.sum(dim=1), torch.ones(2))  # averaged softmax


def test_config_inheriting_mmaction_base_swaps_in_our_backbone(tmp_path):
    config = tmp_path / 'mc3_from_mmaction_base.py'
    config.write_text(
        "_base_ = ['mmaction::_base_/models/r2plus1d_r34.py']\n"
        "custom_imports = dict(imports=['r21d_plugin'], allow_failed_imports=False)\n"
        "model = dict(\n"
        "    backbone=dict(_delete_=True, type='MixedConvResNet', switch_group=3,\n"
        "                  depth=10, base_channels=8),\n"
        "    cls_head=dict(in_channels=64, num_classes=7))\n")
    cfg = Config.fromfile(str(config))
    assert cfg.model.type == 'Recognizer3D'  # from the mmaction:: base
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'MixedConvResNet'
    model.eval()
    data = model.data_preprocessor(batch(1, 1, 8), training=False)
    with torch.no_grad():
        assert model(**data, mode='predict')[0].pred_score.shape == (7, )
