"""Farneback flow, its quantisation and the flow pipeline transforms."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from mmaction.registry import MODELS, TRANSFORMS
from r21d_plugin.data.flow import (FARNEBACK_PARAMS, FLOW_MEAN, FLOW_QUANT_BOUND, FLOW_STD,
                                   dequantize_flow, farneback_flow, frames_to_flow,
                                   quantize_flow)
from r21d_plugin.data.pipelines import flow_pipeline, two_stream_pipeline

init_default_scope('mmaction')

SIZE = 48
MARGIN = 12  # flow near the borders is unreliable; compare the interior


def textured_canvas(seed: int = 0, size: int = 96) -> np.ndarray:
    """A smooth random RGB texture, larger than the frames cut from it."""
    rng = np.random.default_rng(seed)
    canvas = cv2.GaussianBlur((rng.random((size, size, 3)) * 255).astype(np.uint8),
                              (0, 0), 1.5)
    return cv2.normalize(canvas, None, 0, 255, cv2.NORM_MINMAX)


def translating_clip(num_frames: int, dx: int, dy: int, seed: int = 0) -> list:
    """Frames of a texture whose content moves by (dx, dy) pixels per frame."""
    canvas = textured_canvas(seed)
    top, left = 24, 24
    return [np.ascontiguousarray(canvas[top - t * dy:top - t * dy + SIZE,
                                        left - t * dx:left - t * dx + SIZE])
            for t in range(num_frames)]


def interior_mean(flow: np.ndarray) -> np.ndarray:
    return flow[MARGIN:-MARGIN, MARGIN:-MARGIN].reshape(-1, 2).mean(axis=0)


def test_reference_parameters():
    assert FARNEBACK_PARAMS == dict(pyr_scale=0.7071, levels=5, winsize=10, iterations=2,
                                    poly_n=7, poly_sigma=1.5,
                                    flags=cv2.OPTFLOW_FARNEBACK_GAUSSIAN)


@pytest.mark.parametrize('dx, dy', [(2, -1), (-3, 2), (0, 0)])
def test_known_translation_is_recovered(dx, dy):
    first, second = translating_clip(2, dx, dy)
    flow = farneback_flow(cv2.cvtColor(first, cv2.COLOR_RGB2GRAY),
                          cv2.cvtColor(second, cv2.COLOR_RGB2GRAY))
    assert flow.shape == (SIZE, SIZE, 2) and flow.dtype == np.float32
    np.testing.assert_allclose(interior_mean(flow), (dx, dy), atol=0.1)


def test_l_plus_one_frames_give_l_flow_frames():
    flows = frames_to_flow(translating_clip(5, 1, 1))
    assert len(flows) == 4
    for flow in flows:
        np.testing.assert_allclose(interior_mean(flow), (1, 1), atol=0.1)
    with pytest.raises(ValueError, match='at least 2 frames'):
        frames_to_flow(translating_clip(1, 1, 1))


def run_farneback_transform(clips, keep_rgb=False):
    results = dict(imgs=[frame for clip in clips for frame in clip], num_clips=len(clips),
                   clip_len=len(clips[0]), modality='RGB', filename='clip.mp4')
    return TRANSFORMS.build(dict(type='FarnebackFlow', keep_rgb=keep_rgb))(results)


def test_farneback_transform_groups_frames_by_clip():
    clips = [translating_clip(4, 2, 0, seed=0), translating_clip(4, 0, -2, seed=1)]
    results = run_farneback_transform(clips)
    assert results['clip_len'] == 3 and results['modality'] == 'Flow'
    assert len(results['imgs']) == 6
    for index, expected in enumerate([(2, 0)] * 3 + [(0, -2)] * 3):
        np.testing.assert_allclose(interior_mean(results['imgs'][index]), expected, atol=0.1)


def test_farneback_transform_keeps_rgb_of_the_same_frames():
    clips = [translating_clip(4, 1, 0, seed=0), translating_clip(4, 1, 0, seed=1)]
    results = run_farneback_transform(clips, keep_rgb=True)
    assert results['clip_len'] == 3 and results['modality'] == 'RGB'
    expected_rgb = clips[0][:3] + clips[1][:3]  # the first L of each clip's L+1 frames
    assert len(results['imgs']) == len(results['flow_imgs']) == 6
    for got, expected in zip(results['imgs'], expected_rgb):
        assert got is expected
    np.testing.assert_array_equal(results['flow_imgs'][4],
                                  frames_to_flow(clips[1][1:3])[0])


def test_farneback_transform_after_three_crop():
    clip = translating_clip(3, 1, 0)
    results = dict(imgs=[frame.copy() for frame in clip], num_clips=1, clip_len=3,
                   modality='RGB', img_shape=(SIZE, SIZE))
    results = TRANSFORMS.build(dict(type='ThreeCrop', crop_size=SIZE))(results)
    results = TRANSFORMS.build(dict(type='FarnebackFlow'))(results)
    assert len(results['imgs']) == 6 and results['imgs'][0].shape == (SIZE, SIZE, 2)
    results = TRANSFORMS.build(dict(type='FormatShape', input_format='NCTHW'))(results)
    assert results['imgs'].shape == (3, 2, 2, SIZE, SIZE)  # crops, (dx, dy), L, H, W


def test_farneback_transform_names_the_video_on_bad_clips():
    transform = TRANSFORMS.build(dict(type='FarnebackFlow'))
    frames = translating_clip(5, 1, 0)
    with pytest.raises(ValueError, match=r'clip\.mp4: FarnebackFlow needs'):
        transform(dict(imgs=frames, num_clips=2, clip_len=3, filename='clip.mp4'))
    with pytest.raises(ValueError, match='L\\+1 >= 2'):
        transform(dict(imgs=frames[:2], num_clips=2, clip_len=1, filename='clip.mp4'))


def test_flip_before_flow_negates_dx():
    """Flow computed after the RGB flip (the reference order) has its x sign flipped."""
    clip = translating_clip(3, 2, 1)
    results = dict(imgs=[frame.copy() for frame in clip], num_clips=1, clip_len=3,
                   modality='RGB', img_shape=(SIZE, SIZE))  # Flip works in place
    results = TRANSFORMS.build(dict(type='Flip', flip_ratio=1.0))(results)
    flows = TRANSFORMS.build(dict(type='FarnebackFlow'))(results)['imgs']
    for flow in flows:
        np.testing.assert_allclose(interior_mean(flow), (-2, 1), atol=0.1)
    # Pointwise: the flow of the mirrored clip is the mirrored flow with dx negated.
    unflipped = frames_to_flow(clip)[0]
    mirrored = unflipped[:, ::-1] * np.array([-1, 1], dtype=np.float32)
    np.testing.assert_allclose(flows[0][MARGIN:-MARGIN, MARGIN:-MARGIN],
                               mirrored[MARGIN:-MARGIN, MARGIN:-MARGIN], atol=0.15)


@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_flow_flip_mirrors_and_negates_only_dx(dtype):
    rng = np.random.default_rng(0)
    flow = rng.uniform(-5, 5, size=(3, 8, 10, 2)).astype(np.float32)
    frames = quantize_flow(flow) if dtype == np.uint8 else flow
    results = dict(imgs=[f.copy() for f in frames], modality='Flow', img_shape=(8, 10))
    flipped = TRANSFORMS.build(dict(type='FlowFlip', flip_ratio=1.0))(results)['imgs']
    for before, after in zip(frames, flipped):
        assert after.dtype == dtype
        np.testing.assert_array_equal(after[..., 1], before[:, ::-1, 1])
        negated = 255 - before[:, ::-1, 0] if dtype == np.uint8 else -before[:, ::-1, 0]
        np.testing.assert_array_equal(after[..., 0], negated)
    if dtype == np.uint8:  # levels are symmetric: dequantised, -dx within one level
        np.testing.assert_allclose(dequantize_flow(flipped[0])[..., 0],
                                   -flow[0, :, ::-1, 0], atol=2 * FLOW_QUANT_BOUND / 255)


def test_flow_flip_rejects_vertical_and_lazy():
    with pytest.raises(ValueError, match='horizontally'):
        TRANSFORMS.build(dict(type='FlowFlip', direction='vertical'))
    with pytest.raises(ValueError, match='lazy'):
        TRANSFORMS.build(dict(type='FlowFlip', lazy=True))


def test_quantisation_round_trip_and_clipping():
    step = 2 * FLOW_QUANT_BOUND / 255
    flow = np.linspace(-25, 25, 1001, dtype=np.float32).reshape(-1, 1, 1)
    levels = quantize_flow(flow)
    assert levels.dtype == np.uint8 and levels.min() == 0 and levels.max() == 255
    restored = dequantize_flow(levels)
    inside = np.abs(flow) <= FLOW_QUANT_BOUND
    assert np.abs(restored - flow)[inside].max() <= step / 2 + 1e-5
    np.testing.assert_allclose(restored[flow < -FLOW_QUANT_BOUND], -FLOW_QUANT_BOUND)
    np.testing.assert_allclose(restored[flow > FLOW_QUANT_BOUND], FLOW_QUANT_BOUND)


def test_dequantize_transform_gives_pixels():
    flow = np.random.default_rng(1).uniform(-3, 3, size=(6, 7, 2)).astype(np.float32)
    results = TRANSFORMS.build(dict(type='DequantizeFlow'))(
        dict(imgs=[quantize_flow(flow)], filename='v'))
    assert results['imgs'][0].dtype == np.float32
    np.testing.assert_allclose(results['imgs'][0], flow, atol=FLOW_QUANT_BOUND / 255 + 1e-5)
    with pytest.raises(TypeError, match='v: DequantizeFlow expects uint8'):
        TRANSFORMS.build(dict(type='DequantizeFlow'))(dict(imgs=[flow], filename='v'))


def test_flow_model_base_normalises_with_the_reference_statistics():
    cfg = Config.fromfile('configs/_base_/models/recognizer_flow.py')
    preprocessor = cfg.model.data_preprocessor
    np.testing.assert_allclose(preprocessor.mean, FLOW_MEAN)
    np.testing.assert_allclose(preprocessor.std, FLOW_STD)
    assert cfg.model.backbone.in_channels == 2
    preprocessor = MODELS.build(dict(preprocessor, type='ActionDataPreprocessor'))
    flow = torch.tensor(FLOW_MEAN).view(2, 1, 1, 1) + torch.tensor(FLOW_STD).view(2, 1, 1, 1)
    normalised = preprocessor(dict(inputs=[flow.expand(2, 2, 3, 3).clone()[None]],
                                   data_samples=None))['inputs']
    np.testing.assert_allclose(normalised.numpy(), 1.0, rtol=1e-5)


RGB_PIPELINE = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='CenterCrop', crop_size=56),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('img_shape', 'num_clips')),
]


def test_flow_pipeline_draws_one_more_frame_and_adds_flow():
    steps = flow_pipeline(RGB_PIPELINE)
    assert [s['type'] for s in steps] == ['DecordInit', 'SampleFrames', 'DecordDecode',
                                          'CenterCrop', 'FarnebackFlow', 'FormatShape',
                                          'PackActionInputs']
    assert steps[1]['clip_len'] == 9 and RGB_PIPELINE[1]['clip_len'] == 8
    assert steps[4] == dict(type='FarnebackFlow', keep_rgb=False)


def test_two_stream_pipeline_packs_both_streams():
    steps = two_stream_pipeline(RGB_PIPELINE)
    assert [s['type'] for s in steps] == ['DecordInit', 'SampleFrames', 'DecordDecode',
                                          'CenterCrop', 'FarnebackFlow', 'FormatShape',
                                          'KeyMapper', 'PackActionInputs']
    assert steps[4]['keep_rgb'] and steps[-1]['collect_keys'] == ('imgs', 'flow_imgs')
    # Built and run on decoded frames: both streams formatted as NCTHW, same clips.
    clips = [translating_clip(9, 1, 0, seed=s) for s in range(2)]
    results = dict(imgs=[f for c in clips for f in c], num_clips=2, clip_len=9,
                   modality='RGB', img_shape=(SIZE, SIZE), label=0)
    for step in steps[4:]:
        results = TRANSFORMS.build(step)(results)
    assert results['inputs']['imgs'].shape == (2, 3, 8, SIZE, SIZE)
    assert results['inputs']['flow_imgs'].shape == (2, 2, 8, SIZE, SIZE)
    np.testing.assert_array_equal(results['inputs']['imgs'][1, :, 0].numpy(),
                                  clips[1][0].transpose(2, 0, 1))


def test_pipeline_builders_reject_flow_pipelines():
    with pytest.raises(ValueError, match='already computes flow'):
        two_stream_pipeline(flow_pipeline(RGB_PIPELINE))
    with pytest.raises(ValueError, match='one SampleFrames'):
        flow_pipeline(RGB_PIPELINE[2:])
