"""r21d-extract-flow: parallel workers, failures named with exit status 1, resuming."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from r21d_plugin.cli import extract_flow as extract_flow_tool

REPO = Path(__file__).resolve().parents[2]


def write_video(path: Path, num_frames: int = 5) -> None:
    rng = np.random.default_rng(len(path.name))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (32, 24))
    for _ in range(num_frames):
        writer.write((rng.random((24, 32, 3)) * 255).astype(np.uint8))
    writer.release()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / 'tools' / 'extract_flow.py'), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO)


def test_cli_extracts_in_parallel_names_failures_and_resumes(tmp_path, capsys):
    videos = tmp_path / 'videos'
    (videos / 'sub').mkdir(parents=True)
    for name in ('one.avi', 'two.avi', 'sub/three.avi'):
        write_video(videos / name)
    (videos / 'sub' / 'broken.mp4').write_bytes(b'\x00' * 100)
    out = tmp_path / 'flow'

    first = run_cli(str(videos), str(out), '--workers', '2', '--resize', '20x16')
    assert first.returncode == 1, first.stderr
    assert 'extracted 3, already done 0, failed 1' in first.stdout
    assert f'FAILED {Path("sub") / "broken.mp4"}: ' in first.stderr
    assert cv2.imread(str(out / 'sub' / 'three' / 'y_00004.jpg'), 0).shape == (16, 20)
    assert (out / 'videos_flow.txt').read_text() == 'one 4\nsub/three 4\ntwo 4\n'

    (videos / 'sub' / 'broken.mp4').unlink()  # the rerun (in-process) has nothing left to do
    assert extract_flow_tool.main([str(videos), str(out), '--workers', '1']) == 0
    assert 'extracted 0, already done 3, failed 0' in capsys.readouterr().out


def test_frame_size_argument():
    assert extract_flow_tool.parse_args(['a', 'b']).resize == (171, 128)
    assert extract_flow_tool.parse_args(['a', 'b', '--resize', 'none']).resize is None
    assert extract_flow_tool.parse_args(['a', 'b', '--resize', '64x48']).resize == (64, 48)
    with pytest.raises(SystemExit):
        extract_flow_tool.parse_args(['a', 'b', '--resize', '64'])
