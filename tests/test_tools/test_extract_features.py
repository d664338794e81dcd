"""tools/extract_features.py and tools/dist_extract_features.sh on a tiny R(2+1)D: exit status,
summary, failures named, refusals, and two CPU processes (gloo) writing what one writes."""
import sys

import numpy as np
import pytest
import torch
from helpers import (REPO, free_port, make_broken, random_checkpoint, run_tool, write_annotation,
                     write_video)

from r21d_plugin.cli.extract_features import main


@pytest.fixture(scope='module')
def model_files(tiny_demo_config, tmp_path_factory):
    config = tiny_demo_config('R(2+1)D')
    return config, random_checkpoint(config, tmp_path_factory.mktemp('ckpt') / 'rgb.pth')


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    """long/0.mp4 (40 frames), clips/1.mp4 (12), long/2.mp4 (30), clips/3.mp4 (57), long/4.mp4 (16)."""
    root = tmp_path_factory.mktemp('videos')
    for index, length in enumerate((40, 12, 30, 57, 16)):
        folder = root / ('clips' if index % 2 else 'long')
        folder.mkdir(exist_ok=True)
        write_video(folder / f'{index}.mp4', length, seed=index)
    return root


def test_tool_extracts_a_folder_names_failures_exits_1_and_resumes(model_files, videos,
                                                                   tmp_path):
    config, checkpoint = model_files
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('long/0.mp4', 'clips/3.mp4'):
        (src / name[-5:]).write_bytes((videos / name).read_bytes())
    make_broken(src, 'zero_bytes')
    out = tmp_path / 'out'
    # The tool script itself, with a decoding worker (which re-imports it as its __main__).
    result = run_tool(sys.executable, 'tools/extract_features.py', config, checkpoint, src, out,
                      '--workers', '1', '--no-progress')
    assert result.returncode == 1, result.stderr[-3000:]
    assert f'FAILED {src / "zero.mp4"}: empty file (0 bytes)' in result.stdout
    assert result.stdout.splitlines()[-1] == (
        f'extract_features: 2 done, 0 skipped as finished, 1 failed (of 3 videos); index: '
        f'{out / "index.csv"}')
    assert np.load(out / '0.npy').shape == (2, 64) and np.load(out / '3.npy').shape == (3, 64)
    (src / 'zero.mp4').unlink()
    assert main([str(config), str(checkpoint), str(src), str(out), '--workers', '0',
                 '--no-progress']) == 0
    assert (out / 'index.csv').read_text().splitlines() == [
        'video,features,frames,fps,windows,first_start,last_start,stride,span,layer',
        '0.mp4,0.npy,40,10,2,0,16,16,15,pool5',
        '3.mp4,3.npy,57,10,3,0,32,16,15,pool5']
    assert not (out / 'failed.txt').exists()


def test_tool_refuses_annotation_lines_that_would_escape_out(model_files, tmp_path, capsys):
    config, checkpoint = model_files
    ann = write_annotation(tmp_path / 'list.txt', ['a.mp4 1', '../../etc/b.mp4 2'])
    assert main([str(config), str(checkpoint), str(ann), str(tmp_path / 'out'),
                 '--no-progress']) == 2
    assert f"{ann}:2: '../../etc/b.mp4'" in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_tool_refuses_a_checkpoint_that_does_not_fit(model_files, tiny_demo_config, videos,
                                                     tmp_path, capsys):
    config, checkpoint = model_files
    assert main([str(tiny_demo_config('R(2+1)D-flow')), str(checkpoint), str(videos),
                 str(tmp_path / 'out')]) == 2
    assert capsys.readouterr().err.startswith('r21d-extract-features: error: ')


def test_tool_asks_for_both_flow_files(model_files, tmp_path, capsys):
    config, checkpoint = model_files
    with pytest.raises(SystemExit):
        main([str(config), str(checkpoint), str(tmp_path), str(tmp_path / 'out'),
              '--flow-config', str(config)])
    assert '--flow-config and --flow-checkpoint go together' in capsys.readouterr().err


def test_two_processes_write_what_one_process_writes(model_files, videos, tmp_path):
    config, checkpoint = model_files
    one, two = tmp_path / 'one', tmp_path / 'two'
    # One OpenMP thread, as in each torchrun process: oneDNN's float sums depend on the count.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main([str(config), str(checkpoint), str(videos), str(one), '--workers', '0',
                     '--stride', '4', '--no-progress']) == 0
    finally:
        torch.set_num_threads(threads)
    result = run_tool('bash', 'tools/dist_extract_features.sh', config, checkpoint, videos,
                      two, 2, '--workers', '0', '--stride', '4', '--no-progress')
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count('extract_features: 5 done') == 1  # rank 0 reports
    files = sorted(path.relative_to(one) for path in one.rglob('*') if path.is_file())
    assert files == sorted(path.relative_to(two) for path in two.rglob('*') if path.is_file())
    assert len(files) == 8  # 5 videos, index.csv, settings.json, the lock (.lock, empty)
    for name in files:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


FAILING_RANK = '''
import os
import sys

from r21d_plugin.apis.features import extractor

if os.environ['RANK'] == '1':  # the second rank fails in its first forward pass
    def fail(self, inputs):
        raise RuntimeError('injected failure on rank 1')
    extractor.FeatureExtractor.__call__ = fail

from r21d_plugin.cli.extract_features import main
sys.exit(main(sys.argv[1:]))
'''


def test_an_error_on_one_rank_ends_every_rank_at_once(model_files, videos, tmp_path):
    """Any error (here a RuntimeError, as a CUDA OOM raises) on one of two ranks ends the
    whole run, non-zero, within seconds: no rank waits for the other in a collective."""
    config, checkpoint = model_files
    script = tmp_path / 'failing_rank.py'
    script.write_text(FAILING_RANK)
    result = run_tool(sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                      '--master_port', str(free_port()), script, config, checkpoint, videos,
                      tmp_path / 'out', '--launcher', 'pytorch', '--workers', '0',
                      '--no-progress', env=dict(PYTHONPATH=str(REPO)), timeout=120)
    assert result.returncode != 0
    assert 'RuntimeError: injected failure on rank 1' in result.stderr
    assert not (tmp_path / 'out' / 'index.csv').exists()


def test_openvino_runtime_gives_pytorchs_features(model_files, videos, tmp_path, capsys):
    config, checkpoint = model_files
    src = videos / 'long'
    common = [str(config), str(checkpoint), str(src)]
    assert main(common + [str(tmp_path / 'pt'), '--workers', '0', '--no-progress',
                          '--device', 'cpu']) == 0
    assert main(common + [str(tmp_path / 'ov'), '--workers', '0', '--no-progress',
                          '--device', 'cpu', '--runtime', 'openvino']) == 0
    out = capsys.readouterr().out
    assert "openvino: features within " in out and "of PyTorch's (of their scale) on 2 " \
        'random clips, tolerance 1e-04' in out
    for name in ('0.npy', '2.npy', '4.npy'):
        expected, got = np.load(tmp_path / 'pt' / name), np.load(tmp_path / 'ov' / name)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * np.abs(expected).max())
    assert (tmp_path / 'ov' / 'settings.json').read_text().count('"runtime": "openvino"') == 1
    assert len(list((tmp_path / 'ov' / '.runtime').glob('rgb-pool5-*.onnx'))) == 1
    # features of another runtime do not join those of PyTorch
    assert main(common + [str(tmp_path / 'pt'), '--workers', '0', '--no-progress',
                          '--device', 'cpu', '--runtime', 'onnxruntime']) == 2
    assert "runtime: None there, 'onnxruntime' now" in capsys.readouterr().err


@pytest.mark.parametrize('available, device', [(True, 'cuda:0'), (False, 'cpu')])
def test_device_defaults_to_the_gpu_where_there_is_one(monkeypatch, available, device):
    from r21d_plugin.cli import export, extract_features, infer
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: available)
    assert extract_features.parse_args(['c.py', 'w.pth', 'src', 'out']).device == device
    assert infer.parse_args(['c.py', 'w.pth', 'v.mp4']).device == device
    assert export.parse_args(['c.py', '--out', 'x.onnx']).device == device
