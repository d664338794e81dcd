"""TwoStreamRecognizer: late fusion equals the weighted average of the separate streams,
each stream loads its own checkpoint, and a 10-clip two-stream test on the embedded dataset
reports RGB-only, flow-only and fused metrics from one run."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

import r21d_plugin
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from r21d_plugin.data.flow import FLOW_MEAN, FLOW_STD
from r21d_plugin.engine.checkpoint_loading import CheckpointMismatchError
from r21d_plugin.engine.runs import make_test_config, run_test
from r21d_plugin.weights.stream_checkpoints import merge_stream_checkpoints

init_default_scope('mmaction')

NUM_CLASSES, CLIP_LEN, CROP, NUM_CLIPS, BATCH = 5, 4, 16, 3, 2


def stream_cfg(in_channels: int) -> dict:
    flow = in_channels == 2
    return dict(
        type='MultiClipRecognizer3D',
        backbone=r21d_plugin.paper_backbone('R(2+1)D', depth=10, clip_len=CLIP_LEN,
                                            in_channels=in_channels, base_channels=4),
        cls_head=dict(type='I3DHead', num_classes=NUM_CLASSES, in_channels=32,
                      average_clips='prob'),
        data_preprocessor=dict(
            type='ActionDataPreprocessor',
            mean=list(FLOW_MEAN) if flow else [110.201, 100.64, 95.9966],
            std=list(FLOW_STD) if flow else [58.1489, 56.4701, 55.3324],
            format_shape='NCTHW'))


def save_stream(cfg: dict, path, seed: int) -> str:
    """A randomly initialised stream, saved as its own training would save it."""
    torch.manual_seed(seed)
    stream = MODELS.build(cfg)
    stream.init_weights()
    torch.save(dict(state_dict=stream.state_dict(), meta=dict()), str(path))
    return str(path)


@pytest.fixture(scope='module')
def stream_checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp('streams')
    return dict(rgb=save_stream(stream_cfg(3), root / 'rgb.pth', seed=1),
                flow=save_stream(stream_cfg(2), root / 'flow.pth', seed=2))


def batch(seed: int = 0, num_clips: int = NUM_CLIPS) -> dict:
    generator = torch.Generator().manual_seed(seed)
    imgs = [torch.randint(0, 256, (num_clips, 3, CLIP_LEN, CROP, CROP), generator=generator,
                          dtype=torch.uint8) for _ in range(BATCH)]
    flows = [torch.randn((num_clips, 2, CLIP_LEN, CROP, CROP), generator=generator) * 2
             for _ in range(BATCH)]
    samples = []
    for label in range(BATCH):
        sample = ActionDataSample().set_gt_label(label)
        sample.set_metainfo(dict(num_clips=num_clips))
        samples.append(sample)
    return dict(inputs=dict(imgs=imgs, flow_imgs=flows), data_samples=samples)


def two_stream(checkpoints=None, alpha=0.5):
    checkpoints = checkpoints or {}
    return MODELS.build(dict(type='TwoStreamRecognizer', rgb=stream_cfg(3),
                             flow=stream_cfg(2), rgb_checkpoint=checkpoints.get('rgb'),
                             flow_checkpoint=checkpoints.get('flow'), fusion_alpha=alpha))


def separate_stream(path: str, channels: int, inputs: list, data_samples) -> list:
    stream = MODELS.build(stream_cfg(channels))
    load_checkpoint(stream, path, strict=True)
    stream.eval()
    with torch.no_grad():
        return stream.test_step(dict(inputs=inputs,
                                     data_samples=[s.new() for s in data_samples]))


def test_fused_scores_are_the_weighted_average_of_the_separate_streams(stream_checkpoints):
    alpha = 0.3
    model = two_stream(stream_checkpoints, alpha).eval()
    data = batch()
    rgb = separate_stream(stream_checkpoints['rgb'], 3, data['inputs']['imgs'],
                          data['data_samples'])
    flow = separate_stream(stream_checkpoints['flow'], 2, data['inputs']['flow_imgs'],
                           data['data_samples'])
    with torch.no_grad():
        fused = model.test_step(data)
    for sample, rgb_sample, flow_sample in zip(fused, rgb, flow):
        torch.testing.assert_close(sample.rgb_score, rgb_sample.pred_score)
        torch.testing.assert_close(sample.flow_score, flow_sample.pred_score)
        torch.testing.assert_close(sample.rgb_clip_scores, rgb_sample.clip_scores)
        torch.testing.assert_close(sample.flow_clip_scores, flow_sample.clip_scores)
        torch.testing.assert_close(
            sample.pred_score, alpha * rgb_sample.pred_score + (1 - alpha) *
            flow_sample.pred_score)
        torch.testing.assert_close(
            sample.clip_scores, alpha * rgb_sample.clip_scores + (1 - alpha) *
            flow_sample.clip_scores)
        assert sample.clip_scores.shape == (NUM_CLIPS, NUM_CLASSES)
        assert sample.pred_label.item() == sample.pred_score.argmax().item()
        # Per-video scores are softmax averages over the clips, so they sum to one.
        torch.testing.assert_close(sample.pred_score.sum(), torch.tensor(1.0))
        assert not torch.equal(rgb_sample.pred_score, flow_sample.pred_score)


def test_stream_checkpoints_survive_init_weights(stream_checkpoints):
    model = two_stream(stream_checkpoints)
    saved = torch.load(stream_checkpoints['flow'])['state_dict']
    model.init_weights()
    for key, value in saved.items():
        torch.testing.assert_close(model.flow.state_dict()[key], value)


def test_a_checkpoint_of_the_wrong_stream_is_refused(stream_checkpoints):
    with pytest.raises(CheckpointMismatchError, match=r'checkpoint .*flow.pth takes 2-channel '
                       r'optical flow \(dx, dy\) input, but the rgb stream \(rgb_checkpoint\) '
                       r'builds a network for 3-channel RGB input'):
        two_stream(dict(rgb=stream_checkpoints['flow']))


def test_streams_must_average_probabilities():
    flow = stream_cfg(2)
    flow['cls_head']['average_clips'] = 'score'
    with pytest.raises(ValueError, match="flow stream's cls_head .*average_clips='prob'"):
        MODELS.build(dict(type='TwoStreamRecognizer', rgb=stream_cfg(3), flow=flow))
    with pytest.raises(ValueError, match='fusion_alpha'):
        two_stream(alpha=1.5)


def test_merged_checkpoint_equals_the_two_stream_checkpoints(stream_checkpoints, tmp_path):
    merged = str(tmp_path / 'two_stream.pth')
    taken = merge_stream_checkpoints(stream_checkpoints['rgb'], stream_checkpoints['flow'],
                                     merged)
    assert set(taken) == {'rgb', 'flow'} and all(taken.values())
    from_streams = two_stream(stream_checkpoints).eval()
    from_merged = two_stream().eval()
    load_checkpoint(from_merged, merged, strict=True)
    data = batch(seed=3)
    with torch.no_grad():
        expected = from_streams.test_step(data)
        got = from_merged.test_step(batch(seed=3))
    for a, b in zip(expected, got):
        torch.testing.assert_close(a.pred_score, b.pred_score)


def test_loss_mode_trains_both_streams_on_the_same_samples():
    model = two_stream()
    data = model.data_preprocessor(batch(num_clips=1), training=True)
    losses = model(**data, mode='loss')
    assert {'rgb.loss_cls', 'flow.loss_cls', 'rgb.top1_acc', 'flow.top1_acc'} <= set(losses)
    (losses['rgb.loss_cls'] + losses['flow.loss_cls']).backward()
    assert model.rgb.cls_head.fc_cls.weight.grad is not None
    assert model.flow.cls_head.fc_cls.weight.grad is not None
    rgb_logits, flow_logits = model(**data, mode='tensor')
    assert rgb_logits.shape == flow_logits.shape == (BATCH, NUM_CLASSES)
    with pytest.raises(KeyError, match="missing \\['flow_imgs'\\]"):
        model(dict(imgs=data['inputs']['imgs']), data['data_samples'], mode='predict')


# ---------------------------------------------------------------- end to end, embedded data

TWO_STREAM_CONFIG = 'configs/two_stream/r2plus1d_r10-c16_1xb1-8x2x10_motion-two-stream.py'


def test_two_stream_ten_clip_test_on_the_embedded_dataset(tmp_path, tiny_motion_dataset):
    """tools/test.py's path on the two-stream config: one run, three sets of metrics."""
    data_root = str(tiny_motion_dataset)  # 8 test videos, one per class, 32x32
    cfg_options = {  # tiny networks
        'model.rgb.backbone.base_channels': 4, 'model.rgb.cls_head.in_channels': 32,
        'model.flow.backbone.base_channels': 4, 'model.flow.cls_head.in_channels': 32,
        'test_dataloader.num_workers': 0, 'test_dataloader.batch_size': 4,
        'test_dataloader.dataset.ann_file': f'{data_root}/test.txt',
        'test_dataloader.dataset.data_prefix.video': data_root,
    }
    cfg = Config.fromfile(TWO_STREAM_CONFIG)
    cfg.merge_from_dict(cfg_options)
    merged = str(tmp_path / 'two_stream.pth')
    merge_stream_checkpoints(save_stream(cfg.model.rgb, tmp_path / 'rgb.pth', seed=1),
                             save_stream(cfg.model.flow, tmp_path / 'flow.pth', seed=2),
                             merged)
    dump = str(tmp_path / 'scores.pkl')
    metrics = run_test(make_test_config(TWO_STREAM_CONFIG, merged, dump=dump,
                                        work_dir=str(tmp_path / 'work'),
                                        cfg_options=cfg_options))

    with open(dump, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 8  # one test video per class
    labels = np.array([int(r['gt_label'][0]) for r in results])
    for stream, video_key, clip_key in (('rgb', 'rgb_score', 'rgb_clip_scores'),
                                        ('flow', 'flow_score', 'flow_clip_scores'),
                                        ('two_stream', 'pred_score', 'clip_scores')):
        video_scores = np.stack([np.asarray(r[video_key]) for r in results])
        clip_scores = np.stack([np.asarray(r[clip_key]) for r in results])
        assert clip_scores.shape == (8, 10, 8)  # 10 clips per video, 8 classes
        assert metrics[f'{stream}/video@1'] == pytest.approx(
            np.mean(video_scores.argmax(1) == labels))
        assert metrics[f'{stream}/clip@1'] == pytest.approx(
            np.mean(clip_scores.argmax(2) == labels[:, None]))
        assert 0 <= metrics[f'{stream}/mean_class_accuracy'] <= 1
    for r in results:
        np.testing.assert_allclose(np.asarray(r['pred_score']),
                                   0.5 * np.asarray(r['rgb_score']) +
                                   0.5 * np.asarray(r['flow_score']), rtol=1e-5)
