"""Offline flow extraction: layout, annotation, quantisation, resuming after an interrupted
run, failures by name, and reading the result back (RawFrameDecode, LoadAlignedFlow)."""
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from mmaction.registry import DATASETS, TRANSFORMS
from r21d_plugin.data.prep import flow_extraction
from r21d_plugin.data.decoders import open_reader
from r21d_plugin.data.flow import FLOW_QUANT_BOUND, dequantize_flow, frames_to_flow
from r21d_plugin.data.annotations import AnnotationError
from r21d_plugin.data.prep.flow_extraction import extract_flow

init_default_scope('mmaction')

WIDTH, HEIGHT, NUM_FRAMES = 40, 32, 6
STEP = 2 * FLOW_QUANT_BOUND / 255  # one quantisation level, in pixels


def write_video(path: str, seed: int, dx: int) -> None:
    """A lossless (FFV1) video of a texture moving dx pixels per frame."""
    rng = np.random.default_rng(seed)
    canvas = cv2.GaussianBlur((rng.random((HEIGHT + 8, WIDTH + 40, 3)) * 255).astype(
        np.uint8), (0, 0), 1.5)
    os.makedirs(osp.dirname(path), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'FFV1'), 10, (WIDTH, HEIGHT))
    for t in range(NUM_FRAMES):
        left = 20 - t * dx
        writer.write(np.ascontiguousarray(canvas[4:4 + HEIGHT, left:left + WIDTH]))
    writer.release()


@pytest.fixture
def videos(tmp_path):
    root = tmp_path / 'videos'
    names = ['a/first.avi', 'a/second.avi', 'third.avi']
    for seed, name in enumerate(names):
        write_video(str(root / name), seed, dx=seed % 2 + 1)
    ann = root / 'train.txt'
    ann.write_text(''.join(f'{name} {label}\n' for label, name in enumerate(names)))
    return root, names


def decoded_frames(path: str) -> list:
    reader = open_reader(path)
    return list(reader.read(range(len(reader))))


def test_rawframes_layout_annotation_and_values(videos, tmp_path):
    root, names = videos
    out = tmp_path / 'flow'
    report = extract_flow(str(root / 'train.txt'), str(out), size=None, ext='png',
                          progress=False)
    assert report.failed == {} and report.skipped == {}
    assert report.extracted == {'a/first': 5, 'a/second': 5, 'third': 5}
    assert report.annotation_file == str(out / 'train_flow.txt')
    assert (out / 'train_flow.txt').read_text() == 'a/first 5 0\na/second 5 1\nthird 5 2\n'
    assert sorted(os.listdir(out / 'a' / 'first')) == sorted(
        f'{axis}_{i:05d}.png' for axis in 'xy' for i in range(1, 6))
    # Frame k holds the flow from video frame k to k+1, quantised losslessly (png).
    expected = frames_to_flow(decoded_frames(str(root / names[1])))
    for k, flow in enumerate(expected, 1):
        stored = np.stack([cv2.imread(str(out / 'a' / 'second' / f'{axis}_{k:05d}.png'),
                                      cv2.IMREAD_GRAYSCALE) for axis in 'xy'], axis=-1)
        np.testing.assert_allclose(dequantize_flow(stored), np.clip(flow, -20, 20),
                                   atol=STEP / 2 + 1e-4)


def test_resize_to_the_paper_frames_and_jpeg_default(videos, tmp_path):
    root, _ = videos
    out = tmp_path / 'flow'
    extract_flow(str(root), str(out), progress=False)  # a folder, default 171x128 jpg
    assert cv2.imread(str(out / 'third' / 'x_00001.jpg'), 0).shape == (128, 171)
    assert (out / 'videos_flow.txt').read_text() == 'a/first 5\na/second 5\nthird 5\n'


def test_rerun_after_an_interrupted_run_redoes_only_unfinished_videos(videos, tmp_path,
                                                                       monkeypatch):
    root, _ = videos
    out = tmp_path / 'flow'
    real_imwrite = cv2.imwrite
    written = []

    def imwrite_dying_in_second(path, image):
        if 'second' in path and len([p for p in written if 'second' in p]) == 3:
            raise KeyboardInterrupt('killed')  # the run dies half way through a video
        written.append(path)
        return real_imwrite(path, image)

    monkeypatch.setattr(flow_extraction.cv2, 'imwrite', imwrite_dying_in_second)
    with pytest.raises(KeyboardInterrupt):
        extract_flow(str(root / 'train.txt'), str(out), size=None, progress=False)
    monkeypatch.setattr(flow_extraction.cv2, 'imwrite', real_imwrite)
    # The finished video is in place; the interrupted one only as a hidden partial folder.
    partial, finished = sorted(os.listdir(out / 'a'))
    assert finished == 'first' and re.fullmatch(r'\.second\.\w+\.partial', partial)
    assert len(os.listdir(out / 'a' / partial)) == 3
    finished_mtime = os.stat(out / 'a' / 'first' / 'x_00001.jpg').st_mtime_ns

    report = extract_flow(str(root / 'train.txt'), str(out), size=None, progress=False)
    assert report.skipped == {'a/first': 5}
    assert report.extracted == {'a/second': 5, 'third': 5} and report.failed == {}
    assert sorted(os.listdir(out / 'a')) == ['first', 'second']
    assert len(os.listdir(out / 'a' / 'second')) == 10
    assert os.stat(out / 'a' / 'first' / 'x_00001.jpg').st_mtime_ns == finished_mtime
    assert (out / 'train_flow.txt').read_text() == 'a/first 5 0\na/second 5 1\nthird 5 2\n'
    # A third run has nothing left to do.
    assert extract_flow(str(root / 'train.txt'), str(out), progress=False).extracted == {}


def test_failed_videos_are_reported_by_name_and_others_finish(videos, tmp_path):
    root, _ = videos
    (root / 'broken.avi').write_bytes(b'not a video at all')
    (root / 'one_frame.avi').parent.mkdir(exist_ok=True)
    writer = cv2.VideoWriter(str(root / 'one_frame.avi'), cv2.VideoWriter_fourcc(*'FFV1'),
                             10, (WIDTH, HEIGHT))
    writer.write(np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    writer.release()
    out = tmp_path / 'flow'
    report = extract_flow(str(root), str(out), size=None, progress=False)
    assert set(report.failed) == {'broken.avi', 'one_frame.avi'}
    assert 'flow needs at least 2' in report.failed['one_frame.avi']
    assert set(report.extracted) == {'a/first', 'a/second', 'third'}
    assert not any(name.startswith(('.', 'broken', 'one_frame')) for name in os.listdir(out)
                   if name != 'videos_flow.txt')
    assert 'broken' not in (out / 'videos_flow.txt').read_text()


def test_bad_annotation_names_file_and_line(tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text('# a list\na.mp4 0\n\nclip_without_extension 3\n')
    with pytest.raises(AnnotationError, match=r'list\.txt:4: expected "<video path> <label>'
                                              r'\.\.\.", the path ending in one of \.mp4, '):
        extract_flow(str(ann), str(tmp_path / 'out'))
    with pytest.raises(FileNotFoundError, match='neither a folder'):
        extract_flow(str(tmp_path / 'missing'), str(tmp_path / 'out'))


def test_videos_sharing_a_flow_folder_are_refused(videos, tmp_path):
    root, _ = videos
    write_video(str(root / 'third.mp4'), seed=5, dx=1)  # beside third.avi
    with pytest.raises(ValueError, match='third.avi and third.mp4 would both write their '
                       'flow to third/'):
        extract_flow(str(root), str(tmp_path / 'flow'), progress=False)


def test_extracted_flow_feeds_the_rawframes_pipeline(videos, tmp_path):
    root, _ = videos
    out = tmp_path / 'flow'
    extract_flow(str(root / 'train.txt'), str(out), size=None, progress=False)
    dataset = DATASETS.build(dict(
        type='RawframeDataset', ann_file=str(out / 'train_flow.txt'),
        data_prefix=dict(img=str(out)), filename_tmpl='{}_{:05d}.jpg', modality='Flow',
        pipeline=[
            dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1,
                 test_mode=True),
            dict(type='RawFrameDecode'),
            dict(type='CenterCrop', crop_size=24),
            dict(type='FlowFlip', flip_ratio=1.0),
            dict(type='DequantizeFlow'),
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackActionInputs')
        ], test_mode=True))
    sample = dataset[2]  # 'third': content moves +1 px per frame; mirrored: -1
    assert sample['inputs'].shape == (1, 2, 4, 24, 24)
    mean_dx = sample['inputs'][0, 0, :, 6:-6, 6:-6].mean().item()
    assert mean_dx == pytest.approx(-1.0, abs=0.15)


def test_aligned_flow_follows_the_rgb_frames_crop_and_flip(videos, tmp_path):
    root, names = videos
    out = tmp_path / 'flow'
    extract_flow(str(root / 'train.txt'), str(out), size=None, ext='png', progress=False)
    video = str(root / names[1])  # moves +2 px per frame
    frames = decoded_frames(video)
    results = dict(filename=video, total_frames=NUM_FRAMES, modality='RGB', num_clips=1,
                   clip_len=3, frame_inds=np.array([1, 2, 5]),
                   imgs=[frames[i].copy() for i in (1, 2, 5)], img_shape=(HEIGHT, WIDTH),
                   original_shape=(HEIGHT, WIDTH))
    for step in (dict(type='Resize', scale=(2 * WIDTH, 2 * HEIGHT), keep_ratio=False),
                 dict(type='CenterCrop', crop_size=32), dict(type='Flip', flip_ratio=1.0),
                 dict(type='LoadAlignedFlow', video_root=str(root), flow_root=str(out),
                      filename_tmpl='{}_{:05d}.png')):
        results = TRANSFORMS.build(step)(results)
    flows = results['flow_imgs']
    assert len(flows) == 3 and all(f.shape == (32, 32, 2) for f in flows)
    # Frame t takes the flow t -> t+1 (file t+1); the last frame the flow into it (file 5).
    stored = frames_to_flow(frames)
    for flow, index in zip(flows, (2, 3, 5)):
        expected = cv2.resize(stored[index - 1], (2 * WIDTH, 2 * HEIGHT)) * 2  # px x2
        expected = expected[16:48, 24:56][:, ::-1] * np.array([-1, 1], np.float32)
        np.testing.assert_allclose(flow[4:-4, 4:-4], expected[4:-4, 4:-4],
                                   atol=2 * STEP + 1e-3)
        assert flow[8:-8, 8:-8, 0].mean() == pytest.approx(-4.0, abs=0.3)
    with pytest.raises(FileNotFoundError, match='x_00001.jpg: missing'):
        TRANSFORMS.build(dict(type='LoadAlignedFlow', video_root=str(root),
                              flow_root=str(out)))(dict(results, frame_inds=np.array([0]), imgs=results['imgs'][:1]))


@pytest.mark.parametrize('entry', ['../elsewhere/v.avi', 'ABSOLUTE'])
def test_entries_outside_the_video_root_cannot_write_outside_out(videos, tmp_path, entry):
    """An annotation naming ../elsewhere/v.avi or an absolute path is refused, naming the
    line, before anything is written; a `.v.partial` folder outside OUT is not removed."""
    root, names = videos
    elsewhere = tmp_path / 'elsewhere'
    write_video(str(elsewhere / 'v.avi'), seed=9, dx=1)
    (elsewhere / '.v.partial').mkdir()
    if entry == 'ABSOLUTE':
        entry = str(elsewhere / 'v.avi')
    ann = root / 'mixed.txt'
    ann.write_text(f'{names[0]} 0\n{entry} 1\n')
    out = tmp_path / 'flow'  # OUT/../elsewhere is where the video is: tmp_path/elsewhere
    with pytest.raises(ValueError) as info:
        extract_flow(str(ann), str(out), size=None, progress=False)
    assert str(info.value).startswith(f'{ann}:2: {os.path.splitext(entry)[0]!r}: ')
    assert sorted(os.listdir(elsewhere)) == ['.v.partial', 'v.avi']
    assert not out.exists()


@pytest.mark.parametrize('workers', [1, 2])
def test_a_hung_decoder_fails_its_video_and_the_others_finish(videos, tmp_path, workers):
    from stuck_decoders import SleepingReader

    root, _ = videos
    write_video(str(root / 'hang.avi'), 7, dx=1)
    report = extract_flow(str(root), str(tmp_path / 'flow'), workers=workers, size=None,
                          progress=False, decoder=SleepingReader, decode_timeout=1)
    assert report.failed == {'hang.avi': 'the decoder hung: no result in 1 s (--decode-timeout)'}
    assert set(report.extracted) == {'a/first', 'a/second', 'third'}
