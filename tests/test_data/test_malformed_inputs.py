"""Malformed annotation files (property-based) and odd videos: a clear error naming the file
and line, or a documented behaviour; never a silent wrong label, never a hang.

The behaviours are listed in docs/reliability.md.
"""
import logging
import re
import tempfile
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from helpers import (SIZE, rotated_mp4, variable_rate_mp4, write_annotation, write_frames,
                     write_video)
from mmaction.registry import DATASETS
from r21d_plugin.data.annotations import (AnnotationError, parse_rawframe_line,
                                          parse_video_line, read_annotation)
from r21d_plugin.data.robust import BadSampleError

init_default_scope('mmaction')

NUM_CLASSES = 5
FAST = settings(max_examples=200, deadline=None)

# --------------------------------------------------------------- annotation lines

# File names without whitespace (a name is one field of a whitespace-separated line).
names = st.text(st.characters(blacklist_categories=('Cs', 'Cc', 'Zs', 'Zl', 'Zp')),
                min_size=1, max_size=12)
integers = st.integers(min_value=-3, max_value=NUM_CLASSES + 3)
tokens = st.one_of(names, integers.map(str), st.sampled_from(['', '1_0', '+1', '٣', '1.0',
                                                              '0x1', ' 1', '#']))


@FAST
@given(st.text(max_size=40))
def test_any_video_line_parses_exactly_or_raises_value_error(text):
    try:
        info = parse_video_line(text, num_classes=NUM_CLASSES)
    except ValueError:
        return
    fields = text.strip().split(' ')
    assert len(fields) == 2 and info == dict(filename=fields[0], label=int(fields[1]))
    assert re.fullmatch('[-+]?[0-9]+', fields[1]) and 0 <= info['label'] < NUM_CLASSES


@FAST
@given(names, st.lists(tokens, max_size=4))
def test_video_lines_keep_their_label_or_say_why_not(filename, rest):
    """The label read is the label written; every other line is refused with the reason."""
    line = ' '.join([filename, *rest])
    try:
        info = parse_video_line(line, num_classes=NUM_CLASSES)
    except ValueError as error:
        reason = str(error)
        assert re.match(r'expected "<video> <label>"|no label|label |\d+ labels on a '
                        r'single-label line', reason)
        return
    fields = line.strip().split(' ')  # VideoDataset's reading, delimiter ' '
    assert len(fields) == 2 and info == dict(filename=fields[0], label=int(fields[1]))
    assert re.fullmatch('[-+]?[0-9]+', fields[1])


@FAST
@given(names, st.lists(tokens, min_size=0, max_size=5), st.booleans())
def test_rawframe_lines_keep_their_counts_or_say_why_not(frame_dir, rest, with_offset):
    line = ' '.join([frame_dir, *rest])
    try:
        info = parse_rawframe_line(line, with_offset=with_offset, num_classes=NUM_CLASSES)
    except ValueError:
        return
    fields = line.split()  # RawframeDataset's reading: any whitespace
    numbers = [int(token) for token in fields[1:]]
    counts = numbers[:2] if with_offset else numbers[:1]
    assert info['frame_dir'] == fields[0] and info['total_frames'] == counts[-1] > 0
    assert info['label'] == numbers[len(counts)] and 0 <= info['label'] < NUM_CLASSES
    assert info.get('offset', 0) == (counts[0] if with_offset else 0) >= 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=30), max_size=8))
def test_any_bytes_give_one_result_per_entry_line_with_its_number(lines):
    """Non-UTF-8 bytes, blank and comment lines, NULs: never an exception for the file."""
    with tempfile.TemporaryDirectory() as root:
        ann = Path(root) / 'ann.txt'
        ann.write_bytes(b'\n'.join(lines))
        parse = lambda text: parse_video_line(text, num_classes=NUM_CLASSES)  # noqa: E731
        results = list(read_annotation(str(ann), parse))
    texts = [raw.decode('utf-8', 'backslashreplace') for raw in ann_lines(lines)]
    entry_lines = [n for n, text in enumerate(texts, 1)
                   if text.strip() and not text.lstrip().startswith('#')]
    assert [r.lineno for r in results] == entry_lines
    for result in results:
        assert (result.info is None) != (result.error is None)
        raw = ann_lines(lines)[result.lineno - 1]
        if result.info is not None:
            assert result.info == parse(raw.decode('utf-8'))
        elif not is_utf8(raw):
            assert result.error.startswith('not UTF-8 text (byte 0x')


def ann_lines(lines):
    return b'\n'.join(lines).splitlines()


def is_utf8(raw):
    try:
        raw.decode('utf-8')
        return True
    except UnicodeDecodeError:
        return False


# ------------------------------------------------------------ annotation files

PIPELINE = [dict(type='DecordInit'), dict(type='SampleFrames', clip_len=4, num_clips=1),
            dict(type='DecordDecode'), dict(type='FormatShape', input_format='NCTHW')]


def dataset(ann, root, pipeline=PIPELINE, **kwargs):
    return DATASETS.build(dict(type='RobustVideoDataset', ann_file=str(ann),
                               data_prefix=dict(video=str(root)), pipeline=pipeline,
                               num_classes=NUM_CLASSES, **kwargs))


@pytest.fixture
def warnings_log():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_file_problems_are_named_by_line(tmp_path):
    ann = tmp_path / 'ann.txt'
    ann.write_bytes(b'# my split\n\na.mp4 1\nb\xff.mp4 2\n  # indented comment\n'
                    b'c.mp4 1 2\nd.mp4 7\ne.mp4 -1\nf.mp4 1_0\na.mp4 3\n')
    with pytest.raises(AnnotationError) as info:
        dataset(ann, tmp_path)
    message = str(info.value)
    assert message.startswith(f'6 bad line(s) in annotation file {ann}:')
    assert f"{ann}:4: not UTF-8 text (byte 0xff at column 2): 'b\\\\xff.mp4 2'" in message
    assert f'{ann}:6: 2 labels on a single-label line' in message
    assert f'{ann}:7: label 7 is out of range (0..4)' in message
    assert f'{ann}:8: label -1 is out of range (0..4)' in message
    assert f"{ann}:9: label '1_0' is not an integer" in message
    assert (f'{ann}:10: listed on line 3 with label 1, here with label 3 (one source, one '
            'label; set multi_class=True for multi-label data)') in message
    for comment_or_blank in (1, 2, 5):
        assert f'{ann}:{comment_or_blank}:' not in message


def test_repeated_entries_with_one_label_are_kept_and_reported(tmp_path, warnings_log):
    ann = write_annotation(tmp_path / 'ann.txt', ['a.mp4 1', 'b.mp4 2', 'a.mp4 1'])
    built = dataset(ann, tmp_path)
    assert [built.get_data_info(i)['label'] for i in range(len(built))] == [1, 2, 1]
    messages = [r.getMessage() for r in warnings_log]
    assert (f'{ann}: 1 line(s) repeat an earlier entry (line 3 repeats line 1); each '
            'listing is a sample of its own, so those sources are drawn more often') in messages


# ------------------------------------------------------------------- odd videos


def write_frames_video(path, frames, fourcc='mp4v', fps=10, size=(SIZE, SIZE)):
    """OpenCV-encoded ``frames`` (``size``, width x height, only used when there are none)."""
    height, width = frames[0].shape[:2] if frames else size[::-1]
    color = not frames or frames[0].ndim == 3
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height),
                             color)
    assert writer.isOpened(), path
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def random_frames(num, height=SIZE, width=SIZE, gray=False):
    shape = (height, width) if gray else (height, width, 3)
    return list(np.random.default_rng(0).integers(0, 255, (num, *shape), dtype=np.uint8))


def odd_video(root, kind):
    """(file name, what the test expects: an error text or the clip shape)."""
    if kind == 'zero_frames':
        write_frames_video(root / 'zero.mp4', [])  # OpenCV writes a container, no stream
        return 'zero.mp4'
    if kind == 'one_frame':
        return write_video(root / 'one.mp4', 1).name
    if kind == 'one_by_one':
        return write_frames_video(root / 'dot.avi', random_frames(6, 1, 1), 'MJPG').name
    if kind == 'huge':
        return write_frames_video(root / 'huge.mp4', random_frames(4, 3000, 4000)).name
    if kind == 'variable_rate':
        data = write_frames_video(root / 'cfr.mp4', random_frames(10, 32, 64)).read_bytes()
        (root / 'vfr.mp4').write_bytes(variable_rate_mp4(data))
        return 'vfr.mp4'
    if kind == 'rotated':
        data = write_frames_video(root / 'landscape.mp4', random_frames(6, 32, 64)).read_bytes()
        (root / 'portrait.mp4').write_bytes(rotated_mp4(data, 90))
        return 'portrait.mp4'
    if kind == 'audio_only':
        with wave.open(str(root / 'speech.wav'), 'wb') as file:
            file.setnchannels(1)
            file.setsampwidth(2)
            file.setframerate(8000)
            file.writeframes(b'\0\0' * 800)
        return 'speech.wav'
    if kind == 'grayscale':
        return write_frames_video(root / 'gray.mp4', random_frames(6, gray=True)).name
    raise ValueError(kind)


NO_STREAM = 'the file has no video stream (audio only, or a container with no frames written)'
RESIZE = [dict(type='DecordInit'), dict(type='SampleFrames', clip_len=4, num_clips=1),
          dict(type='DecordDecode'), dict(type='Resize', scale=(40, 30), keep_ratio=False),
          dict(type='FormatShape', input_format='NCTHW')]


@pytest.mark.parametrize('kind, expected', [
    ('zero_frames', 'DecordInit failed: DECORDError: Check failed: st_nb >= 0'),
    ('one_frame', '1 frame, fewer than the 4 that one clip spans'),
    ('one_by_one', 'DecordDecode failed: DECORDError: Check failed: from_size == to_size (96 '
                   'vs. 3) DECORDArrayCopyFromTo: The size must exactly match; decord cannot '
                   'convert frames of this size'),
    ('one_by_one_efficient', 'the decoder returned a frame of shape (1, 1, 96), not height x '
                             'width x 3'),
    ('audio_only', 'DecordInit failed: DECORDError: Check failed'),
    ('huge', (1, 3, 4, 30, 40)),           # decoded at 4000 x 3000, then resized
    ('variable_rate', (1, 3, 4, 32, 64)),  # sampled by frame index, not by time
    ('rotated', (1, 3, 4, 64, 32)),        # decord turns it upright, as players show it
    ('grayscale', (1, 3, 4, 32, 32)),      # decoded as 3 equal channels
])
def test_odd_videos_give_an_error_naming_the_line_or_a_documented_clip(tmp_path, kind,
                                                                       expected):
    efficient = kind.endswith('_efficient')  # DecordDecode's seek-and-read mode
    name = odd_video(tmp_path, kind.replace('_efficient', ''))
    ann = write_annotation(tmp_path / 'ann.txt', [f'{name} 1'])
    pipeline = RESIZE if kind == 'huge' else PIPELINE
    if efficient:
        pipeline = [dict(step, mode='efficient') if step['type'] == 'DecordDecode' else step
                    for step in pipeline]
    built = dataset(ann, tmp_path, pipeline=pipeline)
    if isinstance(expected, tuple):
        assert built[0]['imgs'].shape == expected
        return
    with pytest.raises(BadSampleError) as info:
        built[0]
    message = str(info.value)
    assert message.startswith(f'{ann}:1: {tmp_path / name}: ')
    assert expected in message
    if kind in ('zero_frames', 'audio_only'):
        assert message.endswith(NO_STREAM)


def test_grayscale_frames_are_three_equal_channels(tmp_path):
    name = odd_video(tmp_path, 'grayscale')
    clip = dataset(write_annotation(tmp_path / 'ann.txt', [f'{name} 1']), tmp_path)[0]['imgs']
    assert (clip[:, 0] == clip[:, 1]).all() and (clip[:, 1] == clip[:, 2]).all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=6), st.integers(min_value=1, max_value=6))
def test_short_rawframe_directories_are_refused_or_loaded_exactly(num_files, total_frames):
    """A frame directory holding fewer frames than its line says is bad, naming the missing
    file; one holding enough loads a clip of exactly clip_len frames."""
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        frames = root / 'v'
        frames.mkdir()
        if num_files:
            write_frames(frames, num_files)
        ann = write_annotation(root / 'ann.txt', [f'v {total_frames} 1'])
        built = DATASETS.build(dict(
            type='RobustRawframeDataset', ann_file=str(ann), data_prefix=dict(img=str(root)),
            num_classes=NUM_CLASSES, pipeline=[
                dict(type='SampleFrames', clip_len=total_frames, num_clips=1, test_mode=True),
                dict(type='RawFrameDecode')]))
        if num_files >= total_frames:
            assert len(built[0]['imgs']) == total_frames
        else:
            with pytest.raises(BadSampleError, match=rf'ann.txt:1: .*v: RawFrameDecode failed'
                               rf'.*img_{num_files + 1:05}.jpg'):
                built[0]
