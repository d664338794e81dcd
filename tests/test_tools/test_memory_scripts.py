"""tools/analysis's memory scripts (checkout only) run end to end on a tiny network and a
short generated video, and report what they measured."""
import re

from helpers import run_tool


def test_timeline_memory_reports_a_fresh_process_peak(tiny_recognizers, tmp_path):
    config, checkpoint = tiny_recognizers['rgb']
    result = run_tool('tools/analysis/timeline_memory.py', config, '--checkpoint', checkpoint,
                      '--minutes', '0.05', '--work-dir', tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # 90 frames; windows of span 15 every 16 frames: 5
    found = re.search(r'timeline on 0.05 min at \d+x\d+ \(90 frames, 5 windows\): peak RSS '
                      r'(\d+) MB '
                      r'\(model loaded: (\d+) MB\)', result.stdout)
    assert found and int(found.group(1)) >= int(found.group(2)) > 0, result.stdout
    assert list(tmp_path.iterdir()) == []  # the video is removed after


def test_feature_extraction_memory_reports_each_video(tiny_demo_config, tmp_path):
    video = tmp_path / 'three_seconds.mp4'
    result = run_tool('tools/analysis/generate_long_video.py', video, '--minutes', '0.05',
                      '--size', '32')
    assert result.returncode == 0 and f'{video}: 90 frames of 32x32 at 30 fps' in result.stdout
    result = run_tool('tools/analysis/feature_extraction_memory.py',
                      tiny_demo_config('R(2+1)D'), video, '--workers', '0')
    assert result.returncode == 0, result.stderr[-3000:]
    row = re.search(r'\| three_seconds.mp4 \| 5 \| (\d+) MiB \| (\d+) MiB \| \d+ s \|',
                    result.stdout)
    assert row and int(row.group(2)) > 0 and int(row.group(1)) > 0, result.stdout
