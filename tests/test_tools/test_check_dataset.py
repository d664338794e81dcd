"""r21d-check-dataset: each bad entry reported with its reason, a clean annotation, exit code."""
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_broken, write_annotation, write_frames, write_video
from stuck_decoders import SleepingReader, StuckEMFILEReader

import r21d_plugin  # noqa: F401
from r21d_plugin.cli import check_dataset as check_dataset_tool
from r21d_plugin.data.decoders import DECODERS, TransientDecodeError
from r21d_plugin.data.prep.dataset_check import check_dataset
from r21d_plugin.data.prep.isolated_pool import map_isolated

REPO = Path(__file__).resolve().parents[2]


def test_cli_reports_every_bad_entry_and_writes_a_clean_annotation(tmp_path):
    write_video(tmp_path / 'good.mp4', 12)
    write_video(tmp_path / 'other.avi', 10, 'MJPG')
    kinds = ['missing', 'zero_bytes', 'random_bytes', 'truncated', 'truncated_mid_stream',
             'truncated_avi', 'short']
    broken = {kind: make_broken(tmp_path, kind).name for kind in kinds}
    ann = write_annotation(tmp_path / 'ann.txt', [
        'good.mp4 0', *(f'{name} 1' for name in broken.values()), 'other.avi 1',
        'good.mp4 5', 'good.mp4'])
    clean = tmp_path / 'clean.txt'
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'check_dataset.py'), str(ann), str(tmp_path),
         '--out', str(clean), '--workers', '2', '--num-classes', '3', '--min-frames', '8',
         '--decoder', 'pyav'],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    report = result.stdout.splitlines()
    expected = {
        2: 'file not found', 3: 'file is empty (0 bytes)', 4: 'not a readable video',
        5: 'not a readable video', 6: 'not a readable video (truncated: its header lists 40',
        7: 'not a readable video (truncated: its header lists 40',
        8: '4 frames, fewer than --min-frames 8'}
    for lineno, (kind, name) in zip(expected, broken.items()):
        assert any(line.startswith(f'{ann}:{lineno}: {tmp_path / name}: {expected[lineno]}')
                   for line in report), (kind, report)
    assert f'{ann}:10: label 5 is out of range (0..2): \'good.mp4 5\'' in report
    assert any(line.startswith(f'{ann}:11: no label') for line in report)
    assert f'9 bad of 11 entries in {ann}' in report
    assert 'Decoding' in result.stderr  # the progress bar
    assert clean.read_text() == 'good.mp4 0\nother.avi 1\n'

    assert check_dataset_tool.main([str(clean), str(tmp_path), '--workers', '1']) == 0


def test_rawframe_entries_are_checked_frame_by_frame(tmp_path):
    write_frames(tmp_path / 'complete', 5, 'Flow')
    (write_frames(tmp_path / 'holed', 5, 'Flow') / 'x_00004.jpg').unlink()
    (write_frames(tmp_path / 'garbled', 5, 'Flow') / 'y_00001.jpg').write_bytes(b'not a jpeg')
    ann = write_annotation(tmp_path / 'flow.txt',
                           ['complete 5 0', 'holed 5 1', 'garbled 5 1', 'absent 5 0'])
    checks = check_dataset(str(ann), str(tmp_path), workers=2, rawframes=True,
                           modality='Flow', progress=False)
    problems = {check.lineno: check.problem for check in checks}
    assert problems[1] is None and checks[0].num_frames == 5
    assert problems[2].startswith('x_00004.jpg: file not found (the entry declares 5 frames')
    assert problems[3].startswith('y_00001.jpg: not a decodable image')
    assert problems[4] == 'frame directory not found'


def test_a_hung_decoder_fails_its_entry_and_a_transient_error_stops_the_check(tmp_path):
    write_video(tmp_path / 'good.mp4', 12)
    write_video(tmp_path / 'hang.mp4', 12)
    ann = write_annotation(tmp_path / 'ann.txt', ['good.mp4 0', 'hang.mp4 0', 'good.mp4 1'])
    checks = check_dataset(str(ann), str(tmp_path), workers=1, progress=False,
                           decoder=SleepingReader, decode_timeout=1)
    assert [check.problem for check in checks] == [
        None, 'the decoder hung: no result in 1 s (--decode-timeout)', None]
    with pytest.raises(TransientDecodeError, match=r'\.mp4: Too many open files \(EMFILE\)'):
        check_dataset(str(ann), str(tmp_path), workers=2, progress=False,
                      decoder=StuckEMFILEReader)


def _crash_on_odd(number):
    if number % 2:
        import os
        import signal
        os.kill(os.getpid(), signal.SIGKILL)
    return number * 10


def test_isolated_workers_survive_crashes_and_keep_every_result():
    outcomes = {index: (result, problem)
                for index, result, problem in map_isolated(_crash_on_odd, list(range(7)), 2)}
    assert sorted(outcomes) == list(range(7))
    for number, (result, problem) in outcomes.items():
        if number % 2:
            assert result is None and problem == 'the decoder crashed (SIGKILL)'
        else:
            assert result == number * 10 and problem is None


def test_a_decoder_that_is_not_installed_is_a_user_error(tmp_path, capsys, monkeypatch):
    write_video(tmp_path / 'good.mp4', 12)
    ann = write_annotation(tmp_path / 'ann.txt', ['good.mp4 0'])
    monkeypatch.setattr(DECODERS['torchcodec'], 'available', classmethod(lambda cls: False))
    assert check_dataset_tool.main([str(ann), str(tmp_path), '--decoder', 'torchcodec']) == 2
    assert (': error: --decoder torchcodec: torchcodec.decoders does not '
            'import here' in capsys.readouterr().err)
    assert check_dataset_tool.main([str(ann), str(tmp_path), '--decoder', 'pyav',
                                    '--workers', '1', '--decode-timeout', '0']) == 0
