"""tools/infer.py as a user runs it (a subprocess; other cases call its main): video files,
folders and annotation files in, top-k printed, JSON / plot / labelled video out; bad videos
named on stderr with the others still done and exit status 1; two streams with flow
computed on the fly; mismatched checkpoints and label maps refused."""
import json
import os
import re
import subprocess
import sys

import decord
import numpy as np
import pytest
from helpers import REPO, make_broken, write_annotation, write_video

from r21d_plugin.cli.infer import main

TOOL = str(REPO / 'tools' / 'infer.py')


def run_tool(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, TOOL, *args, '--no-progress'], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """A video, a folder of two, an annotation file of two labelled ones, and bad inputs."""
    root = tmp_path_factory.mktemp('inputs')
    folder, broken = root / 'folder', root / 'broken'
    folder.mkdir()
    broken.mkdir()
    write_video(folder / 'b.mp4', 30, seed=1)
    write_video(folder / 'c.avi', 30, 'MJPG', seed=2)
    write_video(root / 'd.mp4', 24, seed=3)
    write_video(root / 'e.mp4', 24, seed=4)
    return dict(video=str(write_video(root / 'a.mp4', 40)), folder=str(folder),
                annotation=str(write_annotation(root / 'list.txt', ['d.mp4 3', 'e.mp4 5'])),
                missing=str(make_broken(broken, 'missing')),
                empty=str(make_broken(broken, 'zero_bytes')),
                truncated=str(make_broken(broken, 'truncated')), root=root)


def test_results_outputs_and_bad_videos(tiny_recognizers, inputs, tmp_path):
    config, checkpoint = tiny_recognizers['rgb']
    out_json, plot, out_video = tmp_path / 'out.json', tmp_path / 'plot.png', tmp_path / 'out.mp4'
    done = run_tool(config, checkpoint, inputs['video'], inputs['missing'], inputs['folder'],
                    inputs['empty'], inputs['annotation'], inputs['truncated'], inputs['video'],
                    '--topk', '3',
                    '--json', str(out_json), '--timeline', '--stride', '8', '--plot',
                    str(plot), '--out-video', str(out_video))

    assert done.returncode == 1, done.stderr
    assert f'r21d-infer: {inputs["missing"]}: no such file' in done.stderr
    assert f'r21d-infer: {inputs["empty"]}: empty file (0 bytes)' in done.stderr
    assert f'r21d-infer: {inputs["truncated"]}: not a readable video' in done.stderr
    assert 'r21d-infer: 3 of 9 inputs failed (named above)' in done.stderr
    assert f'[1/9] {inputs["video"]} (40 frames at 10.00 fps; 10 clips of 8 frames)' \
        in done.stdout
    assert 'timeline: 4 windows of 8 frames every 8 frames' in done.stdout
    assert 'accuracy over 2 labelled videos: top-1' in done.stdout

    results = json.loads(out_json.read_text())
    videos = {os.path.basename(entry['video']): entry for entry in results['videos']}
    assert sorted(videos) == ['a.mp4', 'b.mp4', 'c.avi', 'd.mp4', 'e.mp4', 'missing.mp4',
                              'truncated.mp4', 'zero.mp4']
    first = videos['a.mp4']
    labels = results['labels']
    assert [entry['label'] for entry in first['topk']] == [
        labels[entry['index']] for entry in first['topk']]
    assert len(first['topk']) == 3 and np.array(first['clip_scores']).shape == (10, 8)
    assert np.array(first['clip_frames']).shape == (10, 8)
    np.testing.assert_allclose(np.mean(first['clip_scores'], axis=0), first['scores'],
                               atol=1e-6)
    # every stdout line of a video is its JSON top-k
    # (the JSON keeps 6 digits, the line 4: a score on a rounding boundary may differ by 1e-4)
    block = done.stdout.split('a.mp4', 1)[1].split('\n[', 1)[0]  # the first video's lines
    printed = dict(re.findall(r'^  (\S+): (\d\.\d{4})$', block, re.MULTILINE))
    for entry in first['topk']:
        assert abs(float(printed[entry['label']]) - entry['score']) <= 1e-4
    windows = first['timeline']['windows']
    assert [(w['start_frame'], w['end_frame']) for w in windows] == [
        (0, 14), (8, 22), (16, 30), (24, 38)]
    assert windows[1]['start_s'] == 0.8 and windows[1]['end_s'] == 2.3
    assert videos['missing.mp4'] == dict(video=inputs['missing'], error='no such file')
    assert videos['d.mp4']['label'] == 3 and results['accuracy']['videos'] == 2

    for name, frames in (('a', 40), ('b', 30), ('c', 30), ('a_2', 40)):  # a.mp4 twice
        assert (tmp_path / f'plot_{name}.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
        written = decord.VideoReader(str(tmp_path / f'out_{name}.mp4'))
        assert len(written) == frames and written[0].shape == (32, 32, 3)


def test_two_streams_report_rgb_flow_and_fused(tiny_recognizers, inputs, tmp_path, capsys):
    (rgb_config, rgb_checkpoint), (flow_config, flow_checkpoint) = (
        tiny_recognizers['rgb'], tiny_recognizers['flow'])
    out_json = tmp_path / 'two_stream.json'
    assert main([rgb_config, rgb_checkpoint, inputs['video'], '--flow-config', flow_config,
                 '--flow-checkpoint', flow_checkpoint, '--fusion-alpha', '0.3', '--json',
                 str(out_json), '--no-progress']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith('(40 frames at 10.00 fps; 10 clips of 9 frames)')
    assert [line.split()[0] for line in lines[1:4]] == ['RGB', 'flow', 'fused']
    assert lines[3].startswith('  fused (alpha 0.3)')
    video = json.loads(out_json.read_text())['videos'][0]
    rgb, flow = (np.array(video['streams'][name]['scores']) for name in ('rgb', 'flow'))
    np.testing.assert_allclose(video['scores'], 0.3 * rgb + 0.7 * flow, atol=1e-6)


def test_mismatches_are_refused_naming_both_sides(tiny_recognizers, inputs, tmp_path, capsys):
    (rgb_config, rgb_checkpoint), (flow_config, _) = (
        tiny_recognizers['rgb'], tiny_recognizers['flow'])
    label_map = tmp_path / 'ten.txt'
    label_map.write_text(''.join(f'class {i}\n' for i in range(10)))
    assert main([rgb_config, rgb_checkpoint, inputs['video'], '--label-map',
                 str(label_map)]) == 2
    error = capsys.readouterr().err
    assert error.startswith('r21d-infer: error: ')
    assert 'ten.txt has 10 classes but checkpoint' in error
    assert main([flow_config, rgb_checkpoint, inputs['video']]) == 2
    assert ('takes 3-channel RGB input, but config' in capsys.readouterr().err)
    for usage in (['--plot', 'p.png'], ['--flow-config', flow_config], ['--stride', '4']):
        with pytest.raises(SystemExit) as exit_info:
            main([rgb_config, rgb_checkpoint, inputs['video'], *usage])
        assert exit_info.value.code == 2
