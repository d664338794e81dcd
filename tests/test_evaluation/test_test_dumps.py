"""Test dumps are read without running code: the restricted unpickler, YAML refused."""
import io
import pickle

import numpy as np
import pytest
import torch
from helpers import RunsACommand
from mmengine.evaluator import DumpResults

from r21d_plugin.cli.accuracy_vs_clips import main as accuracy_vs_clips
from r21d_plugin.evaluation import DumpError, clip_scores_from_dump, load_test_dump



class StorageBytes:
    """Pickles as torch.storage._load_from_bytes(data): a tensor's storage, or a trap."""

    def __init__(self, data):
        self.data = data

    def __reduce__(self):
        return torch.storage._load_from_bytes, (self.data, )


def records(num_videos=3, num_clips=4, num_classes=5):
    generator = torch.Generator().manual_seed(0)
    return [dict(clip_scores=torch.rand(num_clips, num_classes, generator=generator),
                 pred_score=torch.rand(num_classes, generator=generator),
                 gt_label=torch.tensor([v]), filename=f'v {v}.mp4', num_clips=num_clips,
                 img_shape=(112, 112)) for v in range(num_videos)]


def test_a_dump_written_by_mmengines_dump_results_loads(tmp_path):
    path = tmp_path / 'scores.pkl'
    written = records()
    dumper = DumpResults(out_file_path=str(path))
    dumper.process(None, written)
    dumper.compute_metrics(dumper.results)
    loaded = load_test_dump(str(path))
    assert [r.keys() for r in loaded] == [r.keys() for r in written]
    for got, want in zip(loaded, written):
        assert torch.equal(got['clip_scores'], want['clip_scores'])
        assert got['filename'] == want['filename'] and got['img_shape'] == (112, 112)
    scores, labels = clip_scores_from_dump(loaded)
    assert scores.shape == (3, 4, 5) and labels.tolist() == [0, 1, 2]


@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_numpy_records_load(protocol, tmp_path):
    path = tmp_path / 'scores.pkl'
    content = [dict(clip_scores=np.ones((2, 3), np.float32), gt_label=np.int64(1),
                    tags={'a', 'b'})]
    path.write_bytes(pickle.dumps(content, protocol=protocol))
    loaded = load_test_dump(str(path))
    assert loaded[0]['gt_label'] == 1 and loaded[0]['tags'] == {'a', 'b'}
    assert np.array_equal(loaded[0]['clip_scores'], content[0]['clip_scores'])


def test_a_dump_that_would_run_a_command_is_refused_and_nothing_runs(tmp_path, capsys):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps([dict(clip_scores=RunsACommand(marker))], protocol=2))
    assert accuracy_vs_clips([str(path), '--out', str(tmp_path / 'plot.png')]) == 2
    message = capsys.readouterr().err
    assert message.startswith(f'r21d-accuracy-vs-clips: error: {path}: refusing to load global ')
    assert 'system' in message and 'could run code' in message
    assert not marker.exists() and not (tmp_path / 'plot.png').exists()


def test_a_tensor_storage_holding_a_pickle_trap_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    buffer = io.BytesIO()
    torch.save(RunsACommand(marker), buffer)  # what _load_from_bytes would fully unpickle
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps([dict(clip_scores=StorageBytes(buffer.getvalue()))]))
    with pytest.raises(DumpError, match=f'{path}: not a readable test dump'):
        load_test_dump(str(path))
    assert not marker.exists()


def test_a_yaml_dump_is_refused_unread(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'scores.yaml'
    path.write_text(f'!!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(DumpError, match=r'scores.yaml: not a .pkl test dump .*YAML .* refused'):
        load_test_dump(str(path))
    assert not marker.exists()


@pytest.mark.parametrize('content, message', [
    (b'not a pickle', 'not a readable test dump'),
    (pickle.dumps({'clip_scores': 1}), 'expected the list of records'),
])
def test_unreadable_dumps_are_named(content, message, tmp_path):
    path = tmp_path / 'odd.pkl'
    path.write_bytes(content)
    with pytest.raises(DumpError, match=f'{path}: {message}'):
        load_test_dump(str(path))


def test_a_dump_without_clip_scores_is_one_message(tmp_path, capsys):
    path = tmp_path / 'video_scores.pkl'
    path.write_bytes(pickle.dumps([dict(pred_score=np.ones(3), gt_label=np.array([0]))]))
    assert accuracy_vs_clips([str(path)]) == 2
    assert capsys.readouterr().err.endswith(
        f'error: {path}: the dump has no "clip_scores" for every video: test with model type '
        'MultiClipRecognizer3D to keep per-clip scores\n')
