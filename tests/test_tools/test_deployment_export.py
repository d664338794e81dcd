"""The export tool: r21d-export / tools/deployment/export.py, its output and exit status."""
import functools
import json
import subprocess
import sys

import pytest
from helpers import REPO, random_checkpoint, tiny_recognizer_config

from r21d_plugin.apis import export
from r21d_plugin.cli import export as export_tool
from r21d_plugin.cli.export import main
from r21d_plugin.models.fast_paths import cpu_has_bfloat16_kernels


@pytest.fixture
def tiny_files(tmp_path):
    """A tiny R(2+1)D config file and a random checkpoint for it."""
    cfg = tiny_recognizer_config('R(2+1)D')
    cfg.dump(str(tmp_path / 'tiny.py'))
    checkpoint = random_checkpoint(cfg, tmp_path / 'tiny.pth')
    return str(tmp_path / 'tiny.py'), str(checkpoint)


def test_export_prints_the_file_its_input_and_the_verification(tmp_path, tiny_files, capsys):
    config, checkpoint = tiny_files
    out = tmp_path / 'out' / 'tiny.onnx'
    assert main([config, checkpoint, '--out', str(out), '--crop', '32', '--verify',
                 '--softmax']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f'export: wrote {out} (torch.onnx.export (TorchScript-based), '
                               f'opset 17, torch ')
    assert lines[0].endswith(f'and {out}.json')
    assert lines[1] == ("  input  clips: float32 ['batch', 3, 8, 32, 32] (NCTHW; RGB frames, "
                        '0..255 (uint8 pixel values as float32); normalised inside the graph)')
    assert lines[2] == "  output probs: float32 ['batch', 5] (softmax probabilities)"
    assert [line.split(': max |diff| ')[0] for line in lines[3:]] == [
        'verify: onnxruntime vs PyTorch, batch 1', 'verify: onnxruntime vs PyTorch, batch 2',
        'verify: openvino vs PyTorch, batch 1', 'verify: openvino vs PyTorch, batch 2',
        'verify: passed (tolerance 1e-04)']
    verification = json.loads((tmp_path / 'out' / 'tiny.onnx.json').read_text())[
        'verification']
    assert verification['passed'] is True
    assert verification['runtime'] == ('onnxruntime CPUExecutionProvider, openvino CPU '
                                       '(float32)')
    assert sorted(path.name for path in (tmp_path / 'out').iterdir()) == [
        'tiny.onnx', 'tiny.onnx.json']


def test_verification_above_tolerance_exits_1(tmp_path, tiny_files, capsys, monkeypatch):
    config, checkpoint = tiny_files
    monkeypatch.setattr(export.spec, 'VERIFY_TOLERANCE', -1.0)  # any difference fails
    assert main([config, checkpoint, '--format', 'torchscript', '--out',
                 str(tmp_path / 'tiny.pt'), '--crop', '32', '--verify']) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        'verify: FAILED, above the tolerance -1e+00')
    assert json.loads((tmp_path / 'tiny.pt.json').read_text())['verification'][
        'passed'] is False


def test_wrong_pair_and_unsupported_options_exit_2_with_the_reason(tmp_path, tiny_files,
                                                                   capsys):
    config, checkpoint = tiny_files
    flow_config = tmp_path / 'flow.py'
    tiny_recognizer_config('R(2+1)D', in_channels=2).dump(str(flow_config))
    assert main([str(flow_config), checkpoint, '--out', str(tmp_path / 'x.onnx')]) == 2
    assert capsys.readouterr().err == (
        f'r21d-export: error: checkpoint {checkpoint} takes 3-channel RGB input, but config '
        f'{flow_config} builds a network for 2-channel optical flow (dx, dy) input: use the RGB '
        f'config of this checkpoint\n')

    assert main([config, '--format', 'torchscript', '--opset', '13', '--out',
                 str(tmp_path / 'x.pt')]) == 2
    assert capsys.readouterr().err == ('r21d-export: error: --opset applies to --format onnx '
                                       'only\n')
    assert not list(tmp_path.glob('x.*'))

    with pytest.raises(SystemExit) as usage:
        main([config, '--batch-size', 'some', '--out', str(tmp_path / 'x.onnx')])
    assert usage.value.code == 2
    assert ("argument --batch-size: expected a number or \"dynamic\", got 'some'"
            in capsys.readouterr().err)


def test_benchmark_prints_every_runtime(tmp_path, tiny_files, capsys, monkeypatch):
    config, checkpoint = tiny_files
    monkeypatch.setattr(export_tool, 'compare_runtimes',
                        functools.partial(export_tool.compare_runtimes, warmup=1, iters=1))
    assert main([config, checkpoint, '--out', str(tmp_path / 'tiny.onnx'), '--crop', '32',
                 '--benchmark', '2']) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index('| runtime | malloc | batch | clips/s | s/call | x PyTorch float32 |')
    rows = [line.split(' | ') for line in lines[start + 2:]]
    bf16 = ['openvino bfloat16'] if cpu_has_bfloat16_kernels() else []
    assert [row[0] for row in rows] == [
        '| pytorch float32', '| pytorch bf16 autocast', '| onnxruntime', '| openvino float32'
    ] + ['| ' + name for name in bf16]
    assert {(row[1], row[2]) for row in rows} == {('keeps freed memory', '2')}
    assert rows[0][-1] == '1.00 |'


def test_tools_wrapper_runs_as_a_script(tmp_path, tiny_files):
    """``python tools/deployment/export.py`` as MMAction2 users call it."""
    config, checkpoint = tiny_files
    done = subprocess.run(
        [sys.executable, str(REPO / 'tools/deployment/export.py'), config, checkpoint,
         '--format', 'torchscript', '--out', str(tmp_path / 'tiny.pt'), '--crop', '32',
         '--verify'], capture_output=True, text=True, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == 'verify: passed (tolerance 1e-04)'
    assert (tmp_path / 'tiny.pt').stat().st_size > 0
