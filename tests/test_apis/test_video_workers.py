"""Videos prepared in loading workers: input order, bounded prefetch, one bad item alone."""
import time

import numpy as np
import pytest
import torch
from crashing_step import CrashOnItem, exit_at_start
from helpers import make_broken, write_video

from r21d_plugin.apis import load_recognizer
from r21d_plugin.apis.inference import predict
from r21d_plugin.apis.video_workers import PREFETCH, prepared_in_order
from r21d_plugin.data.decoders import DecoderUnavailableError


def test_outcomes_come_in_input_order_and_a_crash_costs_its_item_only(tmp_path):
    log = tmp_path / 'log.txt'
    outcomes = list(prepared_in_order(list(range(12)), CrashOnItem(str(log), crash=5, fail=8),
                                      workers=2))
    assert [index for index, _, _ in outcomes] == list(range(12))
    assert [result for _, result, _ in outcomes] == [
        None if item in (5, 8) else item * item for item in range(12)]
    errors = {index: error for index, _, error in outcomes if error}
    assert errors == {5: 'the decoder crashed (SIGSEGV)', 8: 'ValueError: item 8 is bad'}


def test_prefetch_is_bounded(tmp_path):
    log = tmp_path / 'log.txt'
    outcomes = prepared_in_order(list(range(40)), CrashOnItem(str(log)), workers=2)
    assert next(outcomes)[1] == 0
    time.sleep(2)  # the workers prepare what they were given, and no more
    prepared = len(log.read_text().split())
    assert 2 * PREFETCH <= prepared <= 2 * PREFETCH + 1
    outcomes.close()


@pytest.fixture(scope='module')
def several_videos(tmp_path_factory):
    directory = tmp_path_factory.mktemp('several')
    videos = [str(write_video(directory / f'v{index}.mp4', frames, seed=index))
              for index, frames in enumerate((40, 24, 33, 9, 30))]
    videos.insert(2, str(make_broken(directory, 'truncated')))
    return videos


def test_predict_with_workers_equals_predict_without(tiny_recognizers, several_videos):
    recognizer = load_recognizer(*tiny_recognizers['rgb'], device='cpu')
    sequential = predict(recognizer, several_videos, errors='keep', workers=0)
    parallel = predict(recognizer, several_videos, errors='keep', workers=2)
    assert [p.name for p in parallel] == [p.name for p in sequential] == several_videos
    assert [p.error is None for p in parallel] == [True, True, False, True, True, True]
    assert parallel[2].error == sequential[2].error
    for ours, reference in zip(parallel, sequential):
        if ours.error is None:
            np.testing.assert_array_equal(ours.result.scores, reference.result.scores)
            np.testing.assert_array_equal(ours.clip_frames, reference.clip_frames)
            assert ours.video == reference.video and ours.looped == reference.looped


def test_amp_runs_the_network_under_autocast(tiny_recognizers, several_videos):
    recognizer = load_recognizer(*tiny_recognizers['rgb'], device='cpu')
    dtypes = []
    hook = recognizer.model.backbone.conv1.register_forward_hook(
        lambda module, inputs, output: dtypes.append(output.dtype))
    try:
        full = predict(recognizer, several_videos[0])
        low = predict(recognizer, several_videos[0], amp='bf16')
    finally:
        hook.remove()
    assert dtypes == [torch.float32, torch.bfloat16]
    assert low.result.scores.dtype == np.float32
    # bf16 keeps 8 bits of mantissa through 10 layers of random weights: the video's
    # probabilities (the mean of 10 clips) stay within a few hundredths
    np.testing.assert_allclose(low.result.scores, full.result.scores, atol=0.1)
    with pytest.raises(ValueError, match='amp must be one of'):
        predict(recognizer, several_videos[0], amp='int8')


def test_workers_that_cannot_start_are_an_error_not_bad_items(tmp_path, monkeypatch):
    from r21d_plugin.apis import video_workers
    monkeypatch.setattr(video_workers, 'init_loading_worker', exit_at_start)
    with pytest.raises(RuntimeError, match='the loading workers exit before preparing '
                                           r'anything \(the decoder process died'):
        list(prepared_in_order([1], CrashOnItem(str(tmp_path / 'log.txt')), workers=1))


def test_a_decoder_that_is_not_there_fails_before_any_video(tiny_recognizers, several_videos):
    recognizer = load_recognizer(*tiny_recognizers['rgb'], device='cpu')
    with pytest.raises(DecoderUnavailableError, match='--decoder nodecoder: unknown'):
        predict(recognizer, several_videos, errors='keep', workers=2, decoder='nodecoder')
