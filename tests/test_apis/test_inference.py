"""The use side's API: predict is MMAction2's multi-clip test of a video, timelines score the
windows of the window rule, two streams fuse as TwoStreamRecognizer, and every mismatch of
config, checkpoint and label map is refused with both sides named."""
import os

import decord
import numpy as np
import pytest
import torch
from helpers import make_broken, write_video
from mmaction.apis import inference_recognizer, init_recognizer
from mmaction.registry import MODELS
from mmengine.dataset import Compose, pseudo_collate

from r21d_plugin.apis import (RecognizerLoadError, Video, VideoReadError, load_recognizer,
                              predict, timeline, window_starts)
from r21d_plugin.data.pipelines import two_stream_test_settings
from r21d_plugin.engine.checkpoint_loading import CheckpointMismatchError
from r21d_plugin.label_maps import LabelMapError, load_label_map


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    directory = tmp_path_factory.mktemp('videos')
    return dict(long=str(write_video(directory / 'long.mp4', 40, seed=3)),
                short=str(make_broken(directory, 'short')), directory=directory)


def test_predict_is_mmaction2s_test_of_the_video(tiny_recognizers, videos):
    config, checkpoint = tiny_recognizers['rgb']
    recognizer = load_recognizer(config, checkpoint)
    ours = predict(recognizer, videos['long'], topk=3)

    reference = inference_recognizer(init_recognizer(config, checkpoint, device='cpu'),
                                     videos['long'])
    np.testing.assert_allclose(ours.result.scores, reference.pred_score.numpy(), atol=1e-6)
    np.testing.assert_allclose(ours.result.clip_scores, reference.clip_scores.numpy(),
                               atol=1e-6)
    # The clips are SampleFrames' 10 test clips: 8 frames, every 2nd frame.
    assert ours.clip_frames.shape == (10, 8)
    np.testing.assert_array_equal(ours.clip_frames[:, 1:] - ours.clip_frames[:, :-1], 2)
    assert [index for index, _, _ in ours.topk] == np.argsort(-ours.result.scores)[:3].tolist()
    assert ours.topk[0][1] == recognizer.labels[ours.topk[0][0]]
    assert not ours.looped and ours.video.num_frames == 40


def test_frames_in_memory_give_the_files_result(tiny_recognizers, videos):
    recognizer = load_recognizer(*tiny_recognizers['rgb'])
    reader = decord.VideoReader(videos['long'])
    frames = reader.get_batch(list(range(len(reader)))).asnumpy()
    from_file, from_memory = predict(recognizer, [videos['long'], frames])
    np.testing.assert_allclose(from_memory.result.scores, from_file.result.scores, atol=1e-6)
    assert from_memory.name == '<frames>'


def test_a_short_video_loops_its_frames_as_the_test_does(tiny_recognizers, videos):
    config, checkpoint = tiny_recognizers['rgb']
    ours = predict(load_recognizer(config, checkpoint), videos['short'])
    assert ours.looped and ours.video.num_frames == 4
    np.testing.assert_array_equal(ours.clip_frames, np.tile(np.arange(0, 16, 2) % 4, (10, 1)))
    reference = inference_recognizer(init_recognizer(config, checkpoint, device='cpu'),
                                     videos['short'])
    np.testing.assert_allclose(ours.result.scores, reference.pred_score.numpy(), atol=1e-6)


def test_bad_videos_are_named_and_the_others_still_run(tiny_recognizers, videos, tmp_path):
    recognizer = load_recognizer(*tiny_recognizers['rgb'])
    broken = {kind: str(make_broken(tmp_path, kind))
              for kind in ('missing', 'zero_bytes', 'truncated', 'truncated_mid_stream')}
    results = predict(recognizer, [broken['missing'], videos['long'], broken['zero_bytes'],
                                   broken['truncated'], broken['truncated_mid_stream']],
                      errors='keep')
    assert [result.error is None for result in results] == [False, True, False, False, False]
    assert results[0].error == 'no such file' and results[0].name == broken['missing']
    assert results[2].error == 'empty file (0 bytes)'
    assert results[3].error.startswith('not a readable video')
    # decord fails on opening or while decoding, depending on where the data stops
    assert results[4].error.startswith(('not a readable video', 'decoding failed'))
    assert results[1].result.scores.shape == (8, )
    with pytest.raises(VideoReadError, match=r'missing\.mp4: no such file'):
        predict(recognizer, broken['missing'])


def test_timeline_scores_every_window_of_the_window_rule(tiny_recognizers, videos):
    recognizer = load_recognizer(*tiny_recognizers['rgb'])
    result = timeline(recognizer, videos['long'], stride=5, batch_size=3)
    # windows of 8 frames every 2nd frame (span 15) starting every 5 frames
    assert result.starts.tolist() == window_starts(40, 8, 5, 2) == [0, 5, 10, 15, 20, 25]
    starts, ends = result.seconds()
    np.testing.assert_allclose(starts, result.starts / 10.0)  # write_video: 10 fps
    np.testing.assert_allclose(ends - starts, 1.5)
    # Each window is the config's test of that window alone (its one clip).
    frames = Video(videos['long']).read(range(40))
    one_clip = load_recognizer(*tiny_recognizers['rgb'],
                               cfg_options={'test_pipeline.1.num_clips': 1})
    for start, scores in zip(result.starts, result.scores):
        alone = predict(one_clip, frames[start:start + 15])
        # (batches of 3 windows against 1 clip: float rounding differs)
        np.testing.assert_allclose(scores, alone.result.scores, atol=1e-5)
    shorter = timeline(recognizer, videos['long'], window=4, stride=20)
    assert shorter.clip_len == 4 and shorter.starts.tolist() == [0, 20]


def test_two_streams_fuse_as_two_stream_recognizer(tiny_recognizers, videos):
    (rgb_config, rgb_checkpoint), (flow_config, flow_checkpoint) = (
        tiny_recognizers['rgb'], tiny_recognizers['flow'])
    rgb = load_recognizer(rgb_config, rgb_checkpoint)
    flow = load_recognizer(flow_config, flow_checkpoint)
    assert (rgb.modality, flow.modality, flow.clip_len) == ('RGB', 'Flow', 8)
    ours = predict(rgb, videos['long'], flow=flow, fusion_alpha=0.3)

    model_cfg, test_dataloader, _ = two_stream_test_settings(
        rgb_config, flow_config, rgb_checkpoint, flow_checkpoint, fusion_alpha=0.3)
    model = MODELS.build(model_cfg).eval()
    data = Compose(test_dataloader['dataset']['pipeline'])(
        dict(filename=videos['long'], label=-1, start_index=0, modality='RGB'))
    with torch.no_grad():
        reference = model.test_step(pseudo_collate([data]))[0]
    for ours_scores, theirs in ((ours.result, reference.pred_score),
                                (ours.streams['rgb'], reference.rgb_score),
                                (ours.streams['flow'], reference.flow_score)):
        np.testing.assert_allclose(ours_scores.scores, theirs.numpy(), atol=1e-5)
    np.testing.assert_allclose(ours.result.clip_scores, reference.clip_scores.numpy(),
                               atol=1e-5)
    assert ours.clip_frames.shape == (10, 9)  # L+1 frames per clip for L flow frames
    fused = timeline(rgb, videos['long'], stride=10, flow=flow, fusion_alpha=0.3)
    np.testing.assert_allclose(
        fused.scores, 0.3 * fused.stream_scores['rgb'] + 0.7 * fused.stream_scores['flow'])


def test_a_label_map_of_another_size_is_refused_with_both_counts(tiny_recognizers, tmp_path):
    label_map = tmp_path / 'five.txt'
    label_map.write_text('a\nb\nc\nd\ne\n')
    with pytest.raises(LabelMapError, match=r'five\.txt has 5 classes but checkpoint '
                                            r'.*rgb\.pth has 8'):
        load_recognizer(*tiny_recognizers['rgb'], label_map=str(label_map))
    # without one, the config's label map
    assert load_recognizer(*tiny_recognizers['rgb']).labels[0] == 'move_right'


def test_label_map_files_are_checked_line_by_line(tmp_path):
    path = tmp_path / 'labels.txt'
    path.write_text('run\n\njump\n')
    with pytest.raises(LabelMapError, match=r'labels\.txt:2: blank line'):
        load_label_map(str(path))
    path.write_text('run\njump\nrun\n\n')
    with pytest.raises(LabelMapError, match=r"labels\.txt:3: class 'run' repeats line 1"):
        load_label_map(str(path))
    with pytest.raises(LabelMapError, match=r'absent\.txt: no such file'):
        load_label_map(str(tmp_path / 'absent.txt'))


def test_a_checkpoint_of_another_modality_or_class_count_is_refused(tiny_recognizers):
    (rgb_config, rgb_checkpoint), (flow_config, flow_checkpoint) = (
        tiny_recognizers['rgb'], tiny_recognizers['flow'])
    with pytest.raises(CheckpointMismatchError,
                       match=r'rgb\.pth takes 3-channel RGB input, but config .*flow\.py '
                             r'builds a network for 2-channel optical flow'):
        load_recognizer(flow_config, rgb_checkpoint)
    with pytest.raises(CheckpointMismatchError, match=r'flow\.pth takes 2-channel optical flow'):
        load_recognizer(rgb_config, flow_checkpoint)
    with pytest.raises(CheckpointMismatchError,
                       match=r'rgb\.pth has 8 classes \(cls_head\.fc_cls\.weight\) but config '
                             r'.* builds 5'):
        load_recognizer(rgb_config, rgb_checkpoint, label_map=None,
                        cfg_options={'model.cls_head.num_classes': 5})
    with pytest.raises(RecognizerLoadError, match=r'absent\.pth: no such file'):
        load_recognizer(rgb_config, os.path.join(os.path.dirname(rgb_checkpoint), 'absent.pth'))
    rgb = load_recognizer(rgb_config, rgb_checkpoint)
    with pytest.raises(RecognizerLoadError, match='two streams need an RGB recognizer and a '
                                                  'flow one; got RGB .* and RGB'):
        predict(rgb, np.zeros((20, 32, 32, 3), np.uint8), flow=rgb)


@pytest.mark.parametrize('workers', [0, 2])
def test_a_hung_decoder_costs_its_video_and_a_transient_error_stops_predict(
        tiny_recognizers, videos, tmp_path, monkeypatch, workers):
    """Loading workers decode with the decoder and timeout asked for, as this process does;
    an error of the machine there stops the run here."""
    from stuck_decoders import SleepingReader, StuckEMFILEReader

    from r21d_plugin.data.decoders import TransientDecodeError, base
    hang = tmp_path / 'hang.mp4'
    hang.write_bytes(open(videos['long'], 'rb').read())
    recognizer = load_recognizer(*tiny_recognizers['rgb'])
    results = predict(recognizer, [str(hang), videos['long']], errors='keep',
                      decoder=SleepingReader, decode_timeout=1, workers=workers)
    assert results[0].error == 'the decoder hung: no result in 1 s (--decode-timeout)'
    np.testing.assert_array_equal(results[1].result.scores,
                                  predict(recognizer, videos['long']).result.scores)
    monkeypatch.setattr(base, 'RETRY_WAIT', 0.0)  # (workers wait as they would: 3.5 s)
    with pytest.raises(TransientDecodeError, match=r'Too many open files \(EMFILE\)'):
        predict(recognizer, [videos['long'], videos['long']], errors='keep',
                decoder=StuckEMFILEReader, workers=workers)
