import dataclasses
import itertools
import tracemalloc

import numpy as np
import pytest

from r21d_plugin.apis import ClipPipeline, Video, VideoReadError, window_starts
from r21d_plugin.apis.video import window_frames


def numbered_frames(count: int, size: int = 8) -> np.ndarray:
    """Frames whose every pixel holds the frame's index (mod 256)."""
    return (np.arange(count, dtype=np.int64)[:, None, None, None] % 256
            * np.ones((1, size, size, 3), dtype=np.int64)).astype(np.uint8)


@pytest.mark.parametrize('num_frames, clip_len, stride, interval, expected', [
    (10, 4, 4, 1, [0, 4]),        # frames 8, 9 start no window
    (12, 4, 4, 1, [0, 4, 8]),
    (10, 4, 2, 1, [0, 2, 4, 6]),  # overlapping windows
    (20, 4, 8, 2, [0, 8]),        # span 7: starts while start + 7 <= 20
    (3, 4, 4, 1, [0]),            # shorter than a clip: one window
    (0, 4, 4, 1, []),
])
def test_window_rule(num_frames, clip_len, stride, interval, expected):
    assert window_starts(num_frames, clip_len, stride, interval) == expected


def test_short_video_window_wraps_like_sample_frames_loop():
    assert window_frames(0, 3, 5).tolist() == [0, 1, 2, 0, 1]


@pytest.mark.parametrize('stride', [1, 3, 8, 11])
def test_windows_hold_the_right_frames_in_bounded_memory(stride):
    video = Video(numbered_frames(100))
    seen = []
    for start, clip in video.windows(clip_len=8, stride=stride, frame_interval=2, chunk=16):
        assert clip[:, 0, 0, 0].tolist() == list(range(start, start + 16, 2))
        seen.append(start)
    assert seen == window_starts(100, 8, stride, 2)


def test_in_memory_frames_must_be_uint8_rgb():
    with pytest.raises(VideoReadError, match=r'T x H x W x 3 uint8'):
        Video(np.zeros((4, 8, 8), dtype=np.uint8))


def test_missing_and_empty_files_are_named(tmp_path):
    with pytest.raises(VideoReadError, match=r'nothing\.mp4: no such file'):
        Video(str(tmp_path / 'nothing.mp4'))
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    with pytest.raises(VideoReadError, match=r'empty\.mp4: empty file'):
        Video(str(empty))


def test_clip_pipeline_applies_the_configs_steps_after_decoding():
    pipeline = ClipPipeline([
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=10, test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(20, 16), keep_ratio=False),
        dict(type='CenterCrop', crop_size=12),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ])
    assert (pipeline.frames_per_clip, pipeline.frame_interval, pipeline.num_test_clips) == (4, 2, 10)
    packed = pipeline([numbered_frames(4, 32), numbered_frames(4, 32) + 1])
    assert tuple(packed['inputs'].shape) == (2, 3, 4, 12, 12)
    assert packed['inputs'][1, 0, :, 0, 0].tolist() == [1, 2, 3, 4]


class _LongReader:
    """A decoder of a million-frame video whose frames hold their index (mod 256)."""

    fps = 30.0

    def __len__(self):
        return 10**6

    def read(self, indices):
        return np.stack([np.full((8, 8, 3), index % 256, np.uint8) for index in indices])


@pytest.mark.parametrize('stride, interval', [(8, 1), (3, 2), (20, 2)])
def test_reading_windows_takes_no_memory_that_grows_with_the_video(stride, interval):
    video = Video(numbered_frames(1))
    video._reader = _LongReader()
    video.info = dataclasses.replace(video.info, num_frames=len(video._reader))
    tracemalloc.start()
    try:
        windows = list(itertools.islice(video.windows(8, stride, interval, chunk=16), 40))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # a list of the million frame indices alone takes 8 MB
    assert [start for start, _ in windows] == list(range(0, 40 * stride, stride))
    for start, clip in windows:
        assert clip[:, 0, 0, 0].tolist() == [(start + i * interval) % 256 for i in range(8)]


@pytest.mark.parametrize('resize', [
    dict(type='Resize', scale=(-1, 24)),
    dict(type='Resize', scale=(40, 24), keep_ratio=False),
    dict(type='TorchvisionResize', scale=(30, 20), keep_ratio=False)])
def test_resizing_each_frame_while_decoding_packs_the_same_clips(resize):
    pipeline = ClipPipeline([
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=2, test_mode=True),
        dict(type='DecordDecode'), resize, dict(type='CenterCrop', crop_size=16),
        dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')])
    frames = np.random.default_rng(0).integers(0, 255, (8, 45, 61, 3), dtype=np.uint8)
    whole = pipeline([frames[:4], frames[4:]])
    video = Video(frames, frame_transform=pipeline.frame_transform)
    clips = [clip for _, clip in video.windows(4, 4)]
    assert clips[0].shape[1] == 24 or resize['type'] != 'Resize' or 'keep_ratio' in resize
    resized = pipeline(clips, resized=True)
    np.testing.assert_array_equal(resized['inputs'].numpy(), whole['inputs'].numpy())
    assert Video(frames).info == video.info  # the video's own size is reported
