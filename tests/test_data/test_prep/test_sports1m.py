"""Sports-1M annotations from the official split formats (partition text, JSON, labels)."""
import gzip
import json
import os

import pytest
from mmengine.registry import init_default_scope

import r21d_plugin  # noqa: F401
from mmaction.registry import DATASETS
from r21d_plugin.data.prep.sports1m import (NUM_CLASSES, Sports1MFormatError, annotation_lines,
                                       build_annotations, index_videos, merge_repeated,
                                       read_labels, read_partition, youtube_id)
from r21d_plugin.cli.build_sports1m_annotations import main as build_annotations_tool

# In the format of original/{train,test}_partition.txt: "<URL> <labels>".
TRAIN_TXT = """https://www.youtube.com/watch?v=UDqivjS-lpI 168,169
https://www.youtube.com/watch?v=oHg5SJYRHA0 0
https://www.youtube.com/watch?v=dQw4w9WgXcQ 486

https://www.youtube.com/watch?v=9bZkp7q1VOU 42
"""
TEST_TXT = """https://www.youtube.com/watch?v=kJQP7kiw5Fk 7
https://www.youtube.com/watch?v=JGwWNGJdvx8 12,7,301
"""
# In the format of sports1m_json.zip's sports1m_{train,test}.json.
TRAIN_JSON = [
    {'id': 'UDqivjS-lpI', 'label487': [168, 169], 'duration': 120},
    {'id': 'oHg5SJYRHA0', 'label487': [0], 'duration': 212},
]


def _write(path, text):
    opener = gzip.open if str(path).endswith('.gz') else open
    with opener(path, 'wt', encoding='utf-8') as f:
        f.write(text)
    return str(path)


@pytest.fixture
def sample(tmp_path):
    """A labels.txt, both partitions, and a download directory missing one video."""
    labels = _write(tmp_path / 'labels.txt',
                    ''.join(f'sport {i}\n' for i in range(NUM_CLASSES)))
    train = _write(tmp_path / 'train_partition.txt', TRAIN_TXT)
    test = _write(tmp_path / 'test_partition.txt', TEST_TXT)
    videos = tmp_path / 'videos'
    for rel in ('UDqivjS-lpI.mp4', 'a/oHg5SJYRHA0.webm', 'b/c/dQw4w9WgXcQ.mkv',
                'kJQP7kiw5Fk.mp4', 'JGwWNGJdvx8.mp4', 'notes.txt'):
        (videos / rel).parent.mkdir(parents=True, exist_ok=True)
        (videos / rel).write_bytes(b'')
    return dict(labels=labels, train=train, test=test, video_dir=str(videos),
                out=str(tmp_path / 'out'))


@pytest.mark.parametrize('text, expected', [
    ('https://www.youtube.com/watch?v=UDqivjS-lpI', 'UDqivjS-lpI'),
    ('http://youtube.com/watch?feature=x&v=UDqivjS-lpI', 'UDqivjS-lpI'),
    ('https://youtu.be/UDqivjS-lpI', 'UDqivjS-lpI'),
    ('UDqivjS-lpI', 'UDqivjS-lpI'),
    ('https://www.youtube.com/watch?v=short', None),
    ('https://vimeo.com/12345678901', None),
])
def test_youtube_id(text, expected):
    assert youtube_id(text) == expected


def test_text_partition_plain_and_gzip(sample, tmp_path):
    for path in (sample['train'], _write(tmp_path / 'train.txt.gz', TRAIN_TXT)):
        videos = read_partition(path)
        assert [v.youtube_id for v in videos] == [
            'UDqivjS-lpI', 'oHg5SJYRHA0', 'dQw4w9WgXcQ', '9bZkp7q1VOU']
        assert [v.labels for v in videos] == [[168, 169], [0], [486], [42]]
        assert videos[3].source == f'{path}:5'  # the blank line 4 is skipped


def test_json_partition(tmp_path):
    path = _write(tmp_path / 'sports1m_train.json.gz', json.dumps(TRAIN_JSON))
    videos = read_partition(path)
    assert [(v.youtube_id, v.labels) for v in videos] == [('UDqivjS-lpI', [168, 169]),
                                                          ('oHg5SJYRHA0', [0])]


@pytest.mark.parametrize('line, reason', [
    ('https://www.youtube.com/watch?v=UDqivjS-lpI', 'expected "<YouTube URL>'),
    ('https://www.youtube.com/watch?v=UDqivjS-lpI 1 2', 'expected "<YouTube URL>'),
    ('https://example.com/v/UDqivjS-lpI 3', 'no YouTube video id'),
    ('https://www.youtube.com/watch?v=UDqivjS-lpI 487', 'out of range 0..486'),
    ('https://www.youtube.com/watch?v=UDqivjS-lpI 3,x', "label 'x'"),
    ('https://www.youtube.com/watch?v=UDqivjS-lpI 3,', "label ''"),
])
def test_malformed_line_names_file_and_line(tmp_path, line, reason):
    path = _write(tmp_path / 'p.txt', TRAIN_TXT + line + '\n')
    with pytest.raises(Sports1MFormatError) as e:
        read_partition(path)
    assert f'{path}:6: ' in str(e.value) and reason in str(e.value)


def test_every_malformed_line_is_reported_once(tmp_path):
    bad = ''.join(f'not-a-url {i}\n' for i in range(25))
    path = _write(tmp_path / 'p.txt', bad)
    with pytest.raises(Sports1MFormatError, match=r'25 malformed entries') as e:
        read_partition(path)
    assert f'{path}:1: ' in str(e.value) and f'{path}:20: ' in str(e.value)
    assert f'{path}:21: ' not in str(e.value) and '... and 5 more' in str(e.value)


@pytest.mark.parametrize('content, reason', [
    ('[{"id": "UDqivjS-lpI", "label487": [1]},\n {"id": "x"', 'invalid JSON'),
    ('{"id": "UDqivjS-lpI"}', 'expected a JSON list'),
    ('[{"id": "UDqivjS-lpI"}]', 'entry 0: expected an object with "id" and "label487"'),
    ('[{"id": "bad", "label487": [1]}]', "entry 0: invalid YouTube id 'bad'"),
    ('[{"id": "UDqivjS-lpI", "label487": []}]', 'entry 0 (id UDqivjS-lpI): "label487"'),
    ('[{"id": "UDqivjS-lpI", "label487": [500]}]', 'integers in 0..486'),
])
def test_malformed_json(tmp_path, content, reason):
    path = _write(tmp_path / 's.json', content)
    with pytest.raises(Sports1MFormatError, match='s.json') as e:
        read_partition(path)
    assert reason in str(e.value)


def test_invalid_json_names_the_line(tmp_path):
    path = _write(tmp_path / 's.json', '[\n{"id": "UDqivjS-lpI", "label487": [1]},\n{oops}\n]')
    with pytest.raises(Sports1MFormatError, match=r's\.json:3: invalid JSON'):
        read_partition(path)


def test_labels_file(sample, tmp_path):
    assert read_labels(sample['labels'])[486] == 'sport 486'
    short = _write(tmp_path / 'l.txt', 'a\nb\n')
    with pytest.raises(Sports1MFormatError, match='2 class names, expected 487'):
        read_labels(short)
    holed = _write(tmp_path / 'h.txt', 'a\n\n' + 'c\n' * 485)
    with pytest.raises(Sports1MFormatError, match=r'h\.txt:2: empty class name'):
        read_labels(holed)


def test_missing_split_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        read_partition(str(tmp_path / 'nope.txt'))


def test_multi_label_rules_and_missing_videos(sample):
    videos = read_partition(sample['train'])
    paths = index_videos(sample['video_dir'])
    assert paths == {'UDqivjS-lpI': 'UDqivjS-lpI.mp4', 'oHg5SJYRHA0': 'a/oHg5SJYRHA0.webm',
                     'dQw4w9WgXcQ': 'b/c/dQw4w9WgXcQ.mkv', 'kJQP7kiw5Fk': 'kJQP7kiw5Fk.mp4',
                     'JGwWNGJdvx8': 'JGwWNGJdvx8.mp4'}
    lines, missing = annotation_lines(videos, 'first', paths)
    assert lines == ['UDqivjS-lpI.mp4 168', 'a/oHg5SJYRHA0.webm 0', 'b/c/dQw4w9WgXcQ.mkv 486']
    assert [v.youtube_id for v in missing] == ['9bZkp7q1VOU']
    lines, _ = annotation_lines(videos, 'duplicate', paths)
    assert lines[:2] == ['UDqivjS-lpI.mp4 168', 'UDqivjS-lpI.mp4 169']
    unchecked, missing = annotation_lines(videos, 'first', None, '.mp4')
    assert unchecked[-1] == '9bZkp7q1VOU.mp4 42' and not missing
    with pytest.raises(ValueError, match='multi_label'):
        annotation_lines(videos, 'all')


def test_repeated_videos_are_merged(tmp_path):
    path = _write(tmp_path / 'p.txt', TRAIN_TXT + 'https://youtu.be/UDqivjS-lpI 169,5\n')
    merged, repeated = merge_repeated(read_partition(path))
    assert repeated == 1 and len(merged) == 4
    assert merged[0].labels == [168, 169, 5]


def test_build_annotations_end_to_end(sample):
    summaries = build_annotations(sample['out'], train=sample['train'], test=sample['test'],
                                  labels=sample['labels'], video_dir=sample['video_dir'])
    train, test = summaries
    assert (train.videos, train.lines, train.multi_label, train.missing) == (3, 3, 1, 1)
    assert (test.videos, test.lines, test.multi_label, test.missing) == (2, 2, 1, 0)
    with open(train.missing_file) as f:
        assert f.read() == f'9bZkp7q1VOU {sample["train"]}:5\n'
    with open(os.path.join(sample['out'], 'sports1m_label_map.txt')) as f:
        assert len(f.read().splitlines()) == NUM_CLASSES
    # The files are what MMAction2's VideoDataset reads.
    init_default_scope('mmaction')
    dataset = DATASETS.build(dict(
        type='VideoDataset', ann_file=test.ann_file,
        data_prefix=dict(video=sample['video_dir']), pipeline=[], test_mode=True))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [(os.path.relpath(d['filename'], sample['video_dir']), d['label'])
            for d in infos] == [('kJQP7kiw5Fk.mp4', 7), ('JGwWNGJdvx8.mp4', 12)]


def test_overlap_between_splits_is_reported(sample, tmp_path):
    test = _write(tmp_path / 'test.txt', TEST_TXT + 'https://youtu.be/UDqivjS-lpI 3\n')
    summaries = build_annotations(sample['out'], train=sample['train'], test=test)
    assert summaries[1].warnings == [
        '1 test videos are also in the training split (e.g. UDqivjS-lpI)']


def _run_tool(*args):
    return build_annotations_tool(list(args))


def test_tool(sample, capsys):
    assert _run_tool('--train', sample['train'], '--test', sample['test'], '--labels',
              sample['labels'], '--video-dir', sample['video_dir'], '--out-dir',
              sample['out'], '--multi-label', 'duplicate') == 0
    out = capsys.readouterr().out
    assert 'train: 3 videos (1 with several labels) -> 4 lines' in out
    assert '1 videos not found under' in out
    with open(os.path.join(sample['out'], 'sports1m_test_list_videos.txt')) as f:
        assert f.read().splitlines() == ['kJQP7kiw5Fk.mp4 7', 'JGwWNGJdvx8.mp4 12',
                                         'JGwWNGJdvx8.mp4 7', 'JGwWNGJdvx8.mp4 301']


def test_tool_reports_malformed_input_and_exits(tmp_path, capsys):
    bad = _write(tmp_path / 'bad.txt', 'https://www.youtube.com/watch?v=UDqivjS-lpI nine\n')
    assert _run_tool('--train', bad, '--out-dir', str(tmp_path / 'o')) == 2
    err = capsys.readouterr().err
    assert 'r21d-build-sports1m-annotations: error: 1 malformed entry in ' in err
    assert f'{bad}:1: ' in err and "label 'nine'" in err
