"""Feature extraction (r21d_plugin.apis.features) on a tiny R(2+1)D and tiny videos: the
stored features equal the model's own backbone output on the same frames, windows follow the
window rule, files are written atomically, reruns resume, bad videos fail alone."""
import csv
from pathlib import Path

import cv2
import decord
import numpy as np
import pytest
import torch
from crashing_step import CrashOnWhiteFrames
from helpers import SIZE, make_broken, random_checkpoint, write_annotation, write_video

from r21d_plugin.apis import ClipPipeline
from r21d_plugin.apis.clip_pipeline import config_test_pipeline
from r21d_plugin.apis.loading import load_model
from r21d_plugin.apis.features import (FeatureExtractor, extract_features,
                                       extract_video_features, list_videos)
from r21d_plugin.apis.video import window_frames, window_starts
from r21d_plugin.engine.checkpoint_loading import CheckpointMismatchError
from r21d_plugin.data.flow import frames_to_flow

LENGTHS = (5, 15, 16, 40)  # shorter than a window (8 frames 2 apart: 15), one, one + 1, several


@pytest.fixture(scope='module')
def tiny(tiny_demo_config, tmp_path_factory):
    """(config, checkpoint) of a tiny R(2+1)D with random weights and BN statistics."""
    root = tmp_path_factory.mktemp('tiny_features')
    config = tiny_demo_config('R(2+1)D')
    return config, random_checkpoint(config, root / 'rgb.pth')


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('videos')
    for length in LENGTHS:
        write_video(root / f'v{length:02d}.mp4', length, seed=length)
    (root / 'sub').mkdir()
    write_video(root / 'sub' / 'w.avi', 24, fourcc='MJPG', seed=3)
    return root


def decoded(path: Path) -> np.ndarray:
    return decord.VideoReader(str(path)).get_batch(
        list(range(len(decord.VideoReader(str(path)))))).asnumpy()


def reference_features(config, checkpoint, frames, starts, stage, pool=True):
    """The model's own backbone output (stage ``stage``), one window at a time, on the
    config's test preprocessing of the window's frames; default (fast) path."""
    model = load_model(str(config), str(checkpoint))
    model.backbone.out_indices = (0, 1, 2, 3)
    pipeline = ClipPipeline(config_test_pipeline(model.cfg))
    rows = []
    for start in starts:
        clip = frames[window_frames(start, len(frames), pipeline.frames_per_clip,
                                    pipeline.frame_interval)]
        packed = pipeline([clip])
        data = model.data_preprocessor(dict(inputs=[packed['inputs']],
                                            data_samples=[packed['data_samples']]), False)
        with torch.no_grad():
            out = model.backbone(data['inputs'].flatten(0, 1))[stage]
        rows.append((out.mean(dim=(2, 3, 4)) if pool else out)[0].numpy())
    return np.stack(rows)


def assert_close_to_scale(actual, expected):
    assert actual.shape == expected.shape
    scale = np.abs(expected).max()
    assert scale > 0 and np.abs(actual - expected).max() <= 1e-5 * scale


@pytest.mark.parametrize('layer, stage, keep_map', [('pool5', 3, False),
                                                     ('conv3', 1, False),
                                                     ('conv4', 2, True)])
def test_stored_features_equal_the_models_own_backbone_output(tiny, videos, tmp_path, layer,
                                                              stage, keep_map):
    config, checkpoint = tiny
    extractor = FeatureExtractor(load_model(str(config), str(checkpoint)), layer=layer,
                                 keep_map=keep_map, stride=4)
    report = extract_features(extractor, str(videos), str(tmp_path), batch_size=3,
                              workers=0, progress=False)
    assert len(report.done) == 5 and not report.failed
    for name in ('v05', 'v40', 'sub/w'):  # a looped short video, several batches, an AVI
        video = videos / (name + ('.avi' if name == 'sub/w' else '.mp4'))
        frames = decoded(video)
        starts = window_starts(len(frames), 8, 4, 2)
        stored = np.load(tmp_path / f'{name}.npy')
        assert stored.dtype == np.float32
        assert_close_to_scale(stored, reference_features(config, checkpoint, frames, starts,
                                                         stage, pool=not keep_map))


def test_generator_yields_the_same_windows_and_features_from_a_file_or_frames(tiny, videos):
    config, checkpoint = tiny
    extractor = FeatureExtractor(load_model(str(config), str(checkpoint)), stride=4)
    from_file = list(extract_video_features(extractor, str(videos / 'v40.mp4'), batch_size=4))
    from_frames = list(extract_video_features(extractor, decoded(videos / 'v40.mp4'),
                                              batch_size=5))
    assert [start for start, _ in from_file] == [0, 4, 8, 12, 16, 20, 24]
    assert [start for start, _ in from_frames] == [0, 4, 8, 12, 16, 20, 24]
    for (_, a), (_, b) in zip(from_file, from_frames):
        assert a.shape == (64, ) and np.abs(a - b).max() <= 1e-5 * np.abs(a).max()


@pytest.mark.parametrize('stride, expected', [
    # stride -> {length: (windows, last start)}; a window spans 15 frames (8, 2 apart)
    (4, {5: (1, 0), 15: (1, 0), 16: (1, 0), 40: (7, 24)}),
    (16, {5: (1, 0), 15: (1, 0), 16: (1, 0), 40: (2, 16)}),   # the default: tiles the video
    (1, {5: (1, 0), 15: (1, 0), 16: (2, 1), 40: (26, 25)}),
])
def test_window_counts_and_start_frames_in_files_and_index(tiny, videos, tmp_path, stride,
                                                           expected):
    config, checkpoint = tiny
    extractor = FeatureExtractor(load_model(str(config), str(checkpoint)),
                                 stride=None if stride == 16 else stride)
    report = extract_features(extractor, str(videos), str(tmp_path), batch_size=8, workers=0,
                              progress=False)
    with open(report.index_file) as f:
        rows = {row['video']: row for row in csv.DictReader(f)}
    assert list(rows) == ['sub/w.avi', 'v05.mp4', 'v15.mp4', 'v16.mp4', 'v40.mp4']
    for length, (windows, last) in expected.items():
        row = rows[f'v{length:02d}.mp4']
        assert (int(row['frames']), int(row['windows']), int(row['first_start']),
                int(row['last_start']), int(row['stride']), int(row['span']),
                row['layer'], float(row['fps'])) == (length, windows, 0, last, stride, 15,
                                                     'pool5', 10.0)
        assert np.load(tmp_path / row['features']).shape == (windows, 64)
        assert window_starts(length, 8, stride, 2)[-1] == last


def test_a_failure_mid_video_leaves_no_file_that_looks_finished_and_a_rerun_completes(
        tiny, videos, tmp_path, monkeypatch):
    config, checkpoint = tiny
    extractor = FeatureExtractor(load_model(str(config), str(checkpoint)), stride=2)
    clean = tmp_path / 'clean'
    extract_features(extractor, str(videos), str(clean), batch_size=2, workers=0,
                     progress=False)
    out = tmp_path / 'out'
    calls = {'count': 0}
    run_networks = FeatureExtractor.__call__

    def fail_on_the_fourth_batch(self, inputs):
        calls['count'] += 1
        if calls['count'] == 8:  # v40's second batch (after 3 of sub/w.avi, 1 of v05, v15, v16)
            raise KeyboardInterrupt
        return run_networks(self, inputs)

    monkeypatch.setattr(FeatureExtractor, '__call__', fail_on_the_fourth_batch)
    with pytest.raises(KeyboardInterrupt):
        extract_features(extractor, str(videos), str(out), batch_size=2, workers=0,
                         progress=False)
    written = sorted(str(path.relative_to(out)) for path in out.rglob('*') if path.is_file())
    assert written == ['.lock', 'settings.json', 'sub/w.npy', 'v05.npy', 'v15.npy', 'v16.npy']
    # A kill (no exception handling) leaves the partial file under its temporary name.
    (out / '.v40.npy.0123456789ab.partial.npy').write_bytes(b'half')
    monkeypatch.setattr(FeatureExtractor, '__call__', run_networks)
    report = extract_features(extractor, str(videos), str(out), batch_size=2, workers=0,
                              progress=False)
    assert report.done == ['v40.mp4'] and len(report.skipped) == 4
    assert not (out / '.v40.npy.0123456789ab.partial.npy').exists()
    for path in clean.rglob('*.npy'):
        np.testing.assert_array_equal(np.load(path), np.load(out / path.relative_to(clean)))
    assert (clean / 'index.csv').read_text() == (out / 'index.csv').read_text()


def test_rerun_skips_finished_videos_and_indexes_them(tiny, videos, tmp_path):
    config, checkpoint = tiny
    extractor = FeatureExtractor(load_model(str(config), str(checkpoint)))
    first = extract_features(extractor, str(videos), str(tmp_path), workers=0, progress=False)
    index = (tmp_path / 'index.csv').read_text()
    stamps = {path: path.stat().st_mtime_ns for path in tmp_path.rglob('*.npy')}
    again = extract_features(extractor, str(videos), str(tmp_path), workers=0, progress=False)
    assert (len(first.done), again.done, again.skipped) == (5, [], first.done)
    assert again.summary() == ('0 done, 5 skipped as finished, 0 failed (of 5 videos); '
                               f'index: {tmp_path / "index.csv"}')
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps
    assert (tmp_path / 'index.csv').read_text() == index
    (tmp_path / 'index.csv').unlink()  # killed before its index: rows from the videos
    extract_features(extractor, str(videos), str(tmp_path), workers=0, progress=False)
    assert (tmp_path / 'index.csv').read_text() == index


def test_unreadable_videos_are_named_with_their_reason_and_the_others_go_on(tiny, videos,
                                                                          tmp_path):
    config, checkpoint = tiny
    broken = tmp_path / 'videos'
    broken.mkdir()
    for kind in ('zero_bytes', 'random_bytes', 'truncated'):
        make_broken(broken, kind)
    write_video(broken / 'good.mp4', 20)
    ann = write_annotation(tmp_path / 'list.txt', [
        'videos/good.mp4 1', 'videos/missing.mp4 0', 'videos/zero.mp4 2',
        'videos/random.mp4 3', 'videos/truncated.mp4 4'])
    extractor = FeatureExtractor(load_model(str(config), str(checkpoint)))
    report = extract_features(extractor, str(ann), str(tmp_path / 'out'), workers=0,
                              progress=False)
    assert report.done == ['videos/good.mp4']
    assert list(report.failed) == ['videos/missing.mp4', 'videos/zero.mp4',
                                   'videos/random.mp4', 'videos/truncated.mp4']
    assert report.failed['videos/missing.mp4'] == 'no such file'
    assert report.failed['videos/zero.mp4'] == 'empty file (0 bytes)'
    for name in ('videos/random.mp4', 'videos/truncated.mp4'):
        assert report.failed[name].startswith('not a readable video (')
    assert (tmp_path / 'out' / 'failed.txt').read_text().splitlines()[0] == \
        'videos/missing.mp4\tno such file'
    assert [path.name for path in (tmp_path / 'out' / 'videos').iterdir()] == ['good.npy']


def test_names_that_would_escape_out_are_refused_with_their_lines(tmp_path):
    ann = write_annotation(tmp_path / 'list.txt', [
        'a.mp4 0', '/data/b.mp4 1', 'c/../../d.mp4 2', 'e.mp4 1'])
    with pytest.raises(ValueError) as error:
        list_videos(str(ann))
    message = str(error.value)
    assert '2 video path(s)' in message and 'outside OUT' in message
    assert f"{ann}:2: '/data/b.mp4'" in message and f"{ann}:3: 'c/../../d.mp4'" in message


def test_two_videos_that_would_share_a_features_file_are_refused(tmp_path):
    ann = write_annotation(tmp_path / 'list.txt', ['a.mp4 0', 'b.mp4 0', 'a.avi 1', 'a.mp4 0'])
    with pytest.raises(ValueError, match=r'a\.mp4 and a\.avi would both write a\.npy '
                                         r'\(lines 1 and 3\)'):
        list_videos(str(ann))
    write_annotation(ann, ['a.mp4 0', 'b.mp4 0', 'a.mp4 0'])
    assert [job.name for job in list_videos(str(ann))] == ['a.mp4', 'b.mp4']


def test_out_with_features_of_other_settings_is_refused(tiny, videos, tmp_path):
    config, checkpoint = tiny
    model = load_model(str(config), str(checkpoint))
    extract_features(FeatureExtractor(model), str(videos / 'v16.mp4'), str(tmp_path),
                     workers=0, progress=False)
    with pytest.raises(ValueError, match=r"other settings \(feature_shape: \[64\] there, \[16\] "
                                         r"now; layer: 'pool5' there, 'conv3' now; layout: "
                                         r"\{'rgb': \[0, 64\]\} there, \{'rgb': \[0, 16\]\} "
                                         r'now\); extract into another folder'):
        extract_features(FeatureExtractor(model, layer='conv3'), str(videos / 'v16.mp4'),
                         str(tmp_path), workers=0, progress=False)


def test_flow_features_of_the_same_windows_follow_the_rgb_ones(tiny, tiny_demo_config,
                                                              videos, tmp_path):
    config, checkpoint = tiny
    flow_config = tiny_demo_config('R(2+1)D-flow')
    flow_checkpoint = random_checkpoint(flow_config, tmp_path / 'flow.pth', seed=1)
    rgb, flow = load_model(str(config), str(checkpoint)), load_model(str(flow_config),
                                                                     str(flow_checkpoint))
    extractor = FeatureExtractor(rgb, stride=8, flow_model=flow)
    assert extractor.layout == {'rgb': (0, 64), 'flow': (64, 128)}
    assert extractor.preparer.frames_per_window == 9  # 8 RGB frames 2 apart, and one more
    features = list(extract_video_features(extractor, str(videos / 'v40.mp4'), batch_size=2))
    frames = decoded(videos / 'v40.mp4')
    starts = window_starts(40, 9, 8, 2)  # windows of 17 frames
    assert [start for start, _ in features] == starts == [0, 8, 16]
    stacked = np.stack([feature for _, feature in features])
    assert_close_to_scale(stacked[:, :64],
                          reference_features(config, checkpoint, frames, starts, 3))
    for (start, feature) in features:  # Farneback flow of the 9 cropped frames, normalised
        clip = frames[window_frames(start, 40, 9, 2)][:, 2:30, 2:30]
        flows = torch.from_numpy(np.stack(frames_to_flow(list(clip)))).permute(3, 0, 1, 2)
        with torch.no_grad():
            out = flow.backbone(flow.data_preprocessor(
                dict(inputs=[flows[None]], data_samples=None), False)['inputs'][0])
        assert_close_to_scale(feature[64:], out.mean(dim=(2, 3, 4))[0].numpy())


def test_checkpoint_that_does_not_fit_the_config_is_refused(tiny, tiny_demo_config):
    config, checkpoint = tiny
    with pytest.raises(CheckpointMismatchError, match='takes 3-channel RGB input, but config .* '
                       'builds a network for 2-channel'):
        load_model(str(tiny_demo_config('R(2+1)D-flow')), str(checkpoint))


def test_a_worker_crash_fails_only_the_video_it_was_on(tiny, tmp_path):
    config, checkpoint = tiny
    for index in range(4):
        write_video(tmp_path / f'v{index}.mp4', 20, seed=index)
    writer = cv2.VideoWriter(str(tmp_path / 'white.mp4'), cv2.VideoWriter_fourcc(*'mp4v'),
                             10, (SIZE, SIZE))
    for _ in range(20):
        writer.write(np.full((SIZE, SIZE, 3), 255, np.uint8))
    writer.release()
    extractor = FeatureExtractor(load_model(str(config), str(checkpoint)))
    extractor.preparer.pipelines['rgb'].transforms.transforms.insert(0, CrashOnWhiteFrames())
    report = extract_features(extractor, str(tmp_path), str(tmp_path / 'out'), workers=2,
                              progress=False)
    assert report.failed == {'white.mp4': 'the decoder crashed (SIGSEGV)'}
    assert sorted(report.done) == ['v0.mp4', 'v1.mp4', 'v2.mp4', 'v3.mp4']
    assert sorted(path.name for path in (tmp_path / 'out').iterdir()) == [
        '.lock', 'failed.txt', 'index.csv', 'settings.json', 'v0.npy', 'v1.npy', 'v2.npy',
        'v3.npy']


@pytest.mark.parametrize('workers', [0, 2])
def test_a_hung_decoder_costs_its_video_and_a_transient_error_stops_the_run(tiny, tmp_path,
                                                                          workers):
    from stuck_decoders import SleepingReader, StuckEMFILEReader

    from r21d_plugin.data.decoders import TransientDecodeError
    config, checkpoint = tiny
    for name in ('a', 'hang', 'b'):
        write_video(tmp_path / f'{name}.mp4', 20)
    model = load_model(str(config), str(checkpoint))
    extractor = FeatureExtractor(model, decoder=SleepingReader, decode_timeout=1)
    report = extract_features(extractor, str(tmp_path), str(tmp_path / 'out'),
                              workers=workers, progress=False)
    assert report.failed == {'hang.mp4': 'the decoder hung: no result in 1 s '
                                         '(--decode-timeout)'}
    assert sorted(report.done) == ['a.mp4', 'b.mp4']
    stuck = FeatureExtractor(model, decoder=StuckEMFILEReader)
    with pytest.raises(TransientDecodeError, match=r'\.mp4: Too many open files \(EMFILE\)'):
        extract_features(stuck, str(tmp_path), str(tmp_path / 'out2'), workers=workers,
                         progress=False)
