"""RobustVideoDataset / RobustRawframeDataset on really broken files: clear errors, skip policy."""
import logging
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from helpers import make_broken, write_annotation, write_frames, write_video
from mmaction.registry import DATASETS
from r21d_plugin.data.annotations import AnnotationError
from r21d_plugin.data.robust import BadSampleError, SkipLimitError

init_default_scope('mmaction')

CLIP_LEN = 8
VIDEO_PIPELINE = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=CLIP_LEN, frame_interval=1, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='FormatShape', input_format='NCTHW'),
]


def video_dataset(ann_file, root, **kwargs):
    cfg = dict(type='RobustVideoDataset', ann_file=str(ann_file),
               data_prefix=dict(video=str(root)), pipeline=VIDEO_PIPELINE, num_classes=3)
    return DATASETS.build({**cfg, **kwargs})


@pytest.fixture
def root(tmp_path):
    write_video(tmp_path / 'good.mp4', 12)
    return tmp_path


def test_good_video_loads_with_its_line(root):
    dataset = video_dataset(write_annotation(root / 'ann.txt', ['good.mp4 2']), root)
    assert dataset.get_data_info(0)['ann_lineno'] == 1
    sample = dataset[0]
    assert sample['imgs'].shape == (1, 3, CLIP_LEN, 32, 32)
    assert sample['label'] == 2


@pytest.mark.parametrize('kind, reason', [
    ('missing', 'file not found'),
    ('zero_bytes', 'file is empty (0 bytes)'),
    ('random_bytes', 'DecordInit failed'),
    ('truncated', 'DecordInit failed'),
    ('truncated_mid_stream', 'failed'),
    ('short', '4 frames, fewer than the 8 that one clip spans'),
])
def test_bad_video_names_line_file_and_reason(root, kind, reason):
    bad = make_broken(root, kind)
    ann = write_annotation(root / 'ann.txt', ['good.mp4 0', f'{bad.name} 1'])
    dataset = video_dataset(ann, root)
    assert dataset[0]['imgs'].shape[2] == CLIP_LEN
    with pytest.raises(BadSampleError) as info:
        dataset[1]
    message = str(info.value)
    assert message.startswith(f'{ann}:2: {bad}: ')
    assert reason in message
    if kind in ('random_bytes', 'truncated'):
        assert 'corrupt, truncated or not a video' in message
        assert isinstance(info.value.__cause__, Exception)  # the decoder's own error, chained


def test_short_video_loops_when_allowed(root):
    short = make_broken(root, 'short')
    dataset = video_dataset(write_annotation(root / 'ann.txt', [f'{short.name} 1']), root,
                            allow_short_videos=True)
    assert dataset[0]['imgs'].shape[2] == CLIP_LEN


def test_annotation_errors_list_every_bad_line(root):
    ann = write_annotation(root / 'ann.txt', [
        'good.mp4 0', 'good.mp4 3', '', 'good.mp4', 'good.mp4 x', 'good.mp4  1', 'a b c',
        'good.mp4 -1'])
    with pytest.raises(AnnotationError) as info:
        video_dataset(ann, root)
    message = str(info.value)
    assert message.startswith(f'6 bad line(s) in annotation file {ann}')
    assert f'{ann}:2: label 3 is out of range (0..2)' in message
    assert f'{ann}:4: no label' in message
    assert f"{ann}:5: label 'x' is not an integer" in message
    assert f'{ann}:6: expected "<video> <label>"' in message
    assert f'{ann}:7: 2 labels on a single-label line' in message
    assert f'{ann}:8: label -1 is out of range' in message
    assert f'{ann}:1:' not in message and f'{ann}:3:' not in message


def test_test_sets_may_omit_labels_and_missing_annotation_is_named(root):
    dataset = video_dataset(write_annotation(root / 'ann.txt', ['good.mp4']), root,
                            test_mode=True)
    assert dataset.get_data_info(0)['label'] == -1
    with pytest.raises(FileNotFoundError, match='nowhere.txt'):
        video_dataset(root / 'nowhere.txt', root)


def test_multi_class_labels_are_range_checked(root):
    ann = write_annotation(root / 'ann.txt', ['good.mp4 0 2', 'good.mp4 1 7'])
    with pytest.raises(AnnotationError, match=r'ann.txt:2: label 7 is out of range'):
        video_dataset(ann, root, multi_class=True)


def rawframe_dataset(ann_file, root, modality, **kwargs):
    tmpl = 'img_{:05}.jpg' if modality == 'RGB' else '{}_{:05d}.jpg'
    cfg = dict(type='RobustRawframeDataset', ann_file=str(ann_file),
               data_prefix=dict(img=str(root)), modality=modality, filename_tmpl=tmpl,
               num_classes=3, pipeline=[
                   dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1,
                        test_mode=True),
                   dict(type='RawFrameDecode')])
    return DATASETS.build({**cfg, **kwargs})


def test_missing_flow_frames_name_the_frame_file(tmp_path):
    write_frames(tmp_path / 'complete', 6, 'Flow')
    (write_frames(tmp_path / 'holed', 6, 'Flow') / 'y_00002.jpg').unlink()
    ann = write_annotation(tmp_path / 'flow.txt', ['complete 6 0', 'holed 6 1', 'absent 6 2'])
    dataset = rawframe_dataset(ann, tmp_path, 'Flow')
    assert np.stack(dataset[0]['imgs']).shape == (4, 32, 32, 2)
    with pytest.raises(BadSampleError) as info:
        dataset[1]
    assert str(info.value).startswith(f'{ann}:2: {tmp_path / "holed"}: RawFrameDecode failed')
    assert 'y_00002.jpg' in str(info.value)
    with pytest.raises(BadSampleError, match=r'flow.txt:3: .*absent: frame directory not found'):
        dataset[2]


def test_skip_limit_tells_how_to_check_a_flow_dataset(tmp_path):
    ann = write_annotation(tmp_path / 'flow.txt', ['absent 6 2'])
    dataset = rawframe_dataset(ann, tmp_path, 'Flow', skip_bad_samples=True,
                               max_skip_fraction=0.0, skip_limit_min_seen=1)
    with pytest.raises(SkipLimitError) as info:
        dataset[0]
    assert (f"List them all with: r21d-check-dataset {ann} {tmp_path} --rawframes --modality "
            "Flow --filename-tmpl '{}_{:05d}.jpg' --start-index 1 (from a checkout: python "
            "tools/check_dataset.py, same arguments)") in str(info.value)


def test_rawframe_annotation_and_short_directories(tmp_path):
    write_frames(tmp_path / 'rgb', 3)
    with pytest.raises(AnnotationError) as info:
        rawframe_dataset(write_annotation(tmp_path / 'bad.txt', ['rgb 0 1', 'rgb three 1']),
                         tmp_path, 'RGB')
    assert 'bad.txt:1: total_frames is 0' in str(info.value)
    assert "bad.txt:2: total_frames 'three' is not an integer" in str(info.value)
    dataset = rawframe_dataset(write_annotation(tmp_path / 'ann.txt', ['rgb 3 1']), tmp_path,
                               'RGB')
    with pytest.raises(BadSampleError, match='3 frames, fewer than the 4'):
        dataset[0]


@pytest.fixture
def warnings_log():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def mostly_good(root, num_good, num_missing):
    """``num_good`` distinct good videos, then ``num_missing`` missing ones."""
    lines = [f'{write_video(root / f"good_{i}.mp4", 12).name} {i % 3}' for i in range(num_good)]
    lines += [f'gone_{i}.mp4 0' for i in range(num_missing)]
    return write_annotation(root / 'ann.txt', lines)


def the_issue_six(root):
    """Six videos of which two are bad, one missing and one truncated (issue 18)."""
    truncated = make_broken(root, 'truncated')
    lines = [f'{write_video(root / f"good_{i}.mp4", 12).name} {i % 3}' for i in range(4)]
    return write_annotation(root / 'ann.txt', lines[:2] + ['gone.mp4 1'] + lines[2:]
                            + [f'{truncated.name} 2'])


def decodes_counted(dataset, monkeypatch):
    """Count how often each source is run through the pipeline."""
    calls = {}
    load = dataset._load

    def counting_load(results):
        calls[results['filename']] = calls.get(results['filename'], 0) + 1
        return load(results)

    monkeypatch.setattr(dataset, '_load', counting_load)
    return calls


def test_a_bad_file_is_decoded_and_counted_once(root, warnings_log, monkeypatch):
    dataset = video_dataset(the_issue_six(root), root, skip_bad_samples=True,
                            max_skip_fraction=0.5)
    calls = decodes_counted(dataset, monkeypatch)
    np.random.seed(0)
    for epoch in range(3):  # every index once per epoch, as the sampler draws them
        samples = [dataset[i] for i in range(len(dataset))]
        assert all('good_' in sample['filename'] for sample in samples)
    assert dataset.skip_counts == (6, 2, 6)
    assert calls[str(root / 'gone.mp4')] == 1 and calls[str(root / 'truncated.mp4')] == 1
    skipped = [r.getMessage() for r in warnings_log if 'Skipped bad sample' in r.getMessage()]
    assert len(skipped) == 2
    assert any(f'ann.txt:3: {root / "gone.mp4"}: file not found' in m for m in skipped)
    assert any(f'ann.txt:6: {root / "truncated.mp4"}: DecordInit failed' in m for m in skipped)


def test_the_limit_is_judged_on_distinct_files_once_enough_were_tried(root):
    """Bad files drawn first do not stop the run before the threshold; the fraction judged
    is that of distinct files, so the outcome does not depend on the order of the draws."""
    ann = mostly_good(root, 4, 2)
    order = [4, 5, 4, 5, 0, 1, 2, 3]  # both bad ones first, and drawn again
    dataset = video_dataset(ann, root, skip_bad_samples=True, max_skip_fraction=0.4)
    assert [dataset.prepare_data(i) is None for i in order] == [True] * 4 + [False] * 4
    assert dataset.skip_counts == (6, 2, 6)

    dataset = video_dataset(ann, root, skip_bad_samples=True, max_skip_fraction=0.3)
    for index in order[:-1]:
        dataset.prepare_data(index)
    with pytest.raises(SkipLimitError) as info:  # the 6th distinct file, a good one
        dataset.prepare_data(order[-1])
    message = str(info.value)
    assert message.startswith('2 of 6 distinct files bad (33.3%), more than '
                              'max_skip_fraction=0.3: counted over the files that the loading '
                              f'processes of this run tried (6 of the 6 listed in {ann})')
    assert 'tools/check_dataset.py' in message


def test_skip_policy_stops_past_the_limit(root):
    dataset = video_dataset(mostly_good(root, 6, 4), root, skip_bad_samples=True,
                            max_skip_fraction=0.2, skip_limit_min_seen=5)
    np.random.seed(0)
    with pytest.raises(SkipLimitError) as info:
        for index in range(len(dataset)):
            dataset[index]
    message = str(info.value)
    tried, bad, listed = dataset.skip_counts
    assert tried >= 5 and bad / tried > 0.2 and listed == 10
    assert message.startswith(f'{bad} of {tried} distinct files bad')
    assert 'more than max_skip_fraction=0.2' in message
    assert 'file not found' in message and f'r21d-check-dataset {dataset.ann_file} ' in message
    assert 'python tools/check_dataset.py' in message


def test_skip_policy_never_replaces_test_samples(root):
    dataset = video_dataset(mostly_good(root, 1, 1), root, skip_bad_samples=True,
                            test_mode=True)
    with pytest.raises(BadSampleError, match='gone_0.mp4: file not found'):
        dataset[1]


def test_skip_limit_is_raised_through_dataloader_workers(root):
    dataset = video_dataset(mostly_good(root, 2, 6), root, skip_bad_samples=True,
                            max_skip_fraction=0.3)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=2,
                                         collate_fn=lambda batch: batch)
    with pytest.raises(SkipLimitError, match='files that the DataLoader workers of this run tried'):
        list(loader)


def test_dataloader_workers_share_one_record_across_epochs(root):
    """Non-persistent workers are new processes every epoch; the record outlives them."""
    dataset = video_dataset(the_issue_six(root), root, skip_bad_samples=True,
                            max_skip_fraction=0.5)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=2,
                                         collate_fn=lambda batch: batch)
    for epoch in range(2):
        assert sum(len(batch) for batch in loader) == 6
    assert dataset.skip_counts == (6, 2, 6)  # read in the main process


def test_native_decoder_crash_names_the_sample(root):
    """decord segfaults on a truncated AVI read from memory; faulthandler's report names it."""
    bad = make_broken(root, 'truncated_avi')
    ann = write_annotation(root / 'ann.txt', [f'{bad.name} 0'])
    script = textwrap.dedent(f"""
        import r21d_plugin
        from mmengine.registry import init_default_scope
        from mmaction.registry import DATASETS
        init_default_scope('mmaction')
        DATASETS.build(dict(type='RobustVideoDataset', ann_file={str(ann)!r},
                            data_prefix=dict(video={str(root)!r}),
                            pipeline={VIDEO_PIPELINE!r}))[0]
    """)
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, timeout=120)
    assert result.returncode == -signal.SIGSEGV
    assert f'<loading {ann}:1: {bad}>'.encode() in result.stderr


@pytest.mark.parametrize('limit, stops', [(0.5, False), (0.2, True)])
def test_the_issue_six_video_run_trains_on_or_stops_by_the_limit(tmp_path, tiny_demo_config,
                                                                tiny_motion_dataset, limit,
                                                                stops):
    """Issue 18's case through the training entry point (tools/train.py's make_train_config
    and run_train): six videos, one missing and one truncated, two epochs."""
    from r21d_plugin.engine.runs import make_train_config, run_train

    good = (tiny_motion_dataset / 'train.txt').read_text().splitlines()[:4]
    good = [f'{tiny_motion_dataset / line.split()[0]} {line.split()[1]}' for line in good]
    truncated = make_broken(tmp_path, 'truncated')
    ann = write_annotation(tmp_path / 'six.txt', good[:2] + ['gone.mp4 1'] + good[2:]
                           + [f'{truncated.name} 2'])
    dataset = 'train_dataloader.dataset.'
    cfg = make_train_config(
        str(tiny_demo_config(max_epochs=2, base_channels=4)), work_dir=str(tmp_path / 'work'),
        no_validate=True, cfg_options={
            dataset + 'type': 'RobustVideoDataset', dataset + 'ann_file': str(ann),
            dataset + 'data_prefix': dict(video=str(tmp_path)),
            dataset + 'skip_bad_samples': True, dataset + 'max_skip_fraction': limit})
    if not stops:
        runner = run_train(cfg)
        assert runner.epoch == 2
        assert runner.train_dataloader.dataset.skip_counts == (6, 2, 6)
        return
    with pytest.raises(SkipLimitError) as info:
        run_train(cfg)
    assert str(info.value).startswith(
        '2 of 6 distinct files bad (33.3%), more than max_skip_fraction=0.2: counted over the '
        f'files that the loading processes of this run tried (6 of the 6 listed in {ann})')
