"""No tool destroys its input: an output that is the same file as an input (the same path,
or a link to it) is refused before any work, with exit status 2, and the input is intact."""
import json
import os

import pytest
from helpers import write_annotation, write_video

from r21d_plugin.cli import check_dataset, convert_weights, export, infer, two_stream_checkpoint


@pytest.fixture
def video(tmp_path):
    return write_video(tmp_path / 'clip.mp4', 20)


def refused(main, argv, capsys, flag, output, source):
    """``main(argv)`` exits 2 naming the flag and both files."""
    assert main([str(arg) for arg in argv]) == 2
    assert (f'{flag} {output} is the input {source}: writing it would destroy the input; '
            'choose another output file') in capsys.readouterr().err


def test_infer_never_writes_over_a_video_it_reads(tiny_recognizers, video, tmp_path, capsys):
    config, checkpoint = tiny_recognizers['rgb']
    before = video.read_bytes()
    refused(infer.main, [config, checkpoint, video, '--out-video', video, '--no-progress'],
            capsys, '--out-video', video, video)
    link = tmp_path / 'link.mp4'
    link.symlink_to(video)
    refused(infer.main, [config, checkpoint, video, '--timeline', '--plot', link,
                         '--no-progress'], capsys, '--plot', link, video)
    refused(infer.main, [config, checkpoint, video, '--json', checkpoint, '--no-progress'],
            capsys, '--json', checkpoint, checkpoint)
    assert video.read_bytes() == before


def test_infer_writes_json_for_names_that_are_not_utf8(tiny_recognizers, video, tmp_path):
    config, checkpoint = tiny_recognizers['rgb']
    folder = tmp_path / 'videos'
    folder.mkdir()
    os.link(video, folder / 'good.mp4')
    os.link(video, os.fsencode(folder) + b'/\xff\xfe.mp4')
    out = tmp_path / 'out.json'
    infer.main([config, checkpoint, folder, '--json', out, '--no-progress'])
    names = [entry['video'] for entry in json.loads(out.read_text())['videos']]
    assert sorted(os.fsencode(os.path.basename(name)) for name in names) == [
        b'good.mp4', b'\xff\xfe.mp4']


def test_export_never_writes_over_its_checkpoint(tiny_recognizers, tmp_path, capsys):
    config, checkpoint = tiny_recognizers['rgb']
    with open(checkpoint, 'rb') as f:
        before = f.read()
    refused(export.main, [config, checkpoint, '--out', checkpoint], capsys,
            'the exported file', checkpoint, checkpoint)
    with open(checkpoint, 'rb') as f:
        assert f.read() == before


def test_converters_and_merging_never_write_over_their_source(tiny_recognizers, capsys):
    rgb, flow = tiny_recognizers['rgb'][1], tiny_recognizers['flow'][1]
    refused(convert_weights.main, [rgb, rgb, '--source', 'torchvision'], capsys,
            'the converted checkpoint', rgb, rgb)
    refused(two_stream_checkpoint.main, [rgb, flow, flow], capsys, 'the merged checkpoint',
            flow, flow)


def test_check_dataset_never_writes_over_the_list_it_checks(video, tmp_path, capsys):
    ann = write_annotation(tmp_path / 'list.txt', ['clip.mp4 0'])
    refused(check_dataset.main, [ann, tmp_path, '--out', ann], capsys, '--out', ann, ann)
    assert ann.read_text() == 'clip.mp4 0\n'
