"""One annotation reader for every tool: comments, blank lines, paths with spaces, labels."""
import pytest

from r21d_plugin.apis.features import list_videos
from r21d_plugin.apis.inputs import collect_videos
from r21d_plugin.data.annotations import (AnnotationError, VideoListEntry, find_videos,
                                          parse_video_line, read_video_list)

LIST = '# my split\n\nmy clip.mp4 3\n  # indented comment\nsub/b.avi\nc.mkv 1 2\n'


def test_paths_with_spaces_keep_their_labels():
    assert parse_video_line('my clip.mp4 3') == dict(filename='my clip.mp4', label=3)
    assert parse_video_line('a b/c d.MP4', require_label=False) == dict(
        filename='a b/c d.MP4', label=-1)
    # without a video extension, the first field is the path (as VideoDataset reads it)
    with pytest.raises(ValueError, match="label 'b' is not an integer"):
        parse_video_line('a b 3', multi_class=True)


def test_the_same_list_gives_the_same_videos_in_every_tool(tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text(LIST)
    assert read_video_list(str(ann)) == [VideoListEntry('my clip.mp4', (3, ), 3),
                                         VideoListEntry('sub/b.avi', (), 5),
                                         VideoListEntry('c.mkv', (1, 2), 6)]
    videos, problems = collect_videos([str(ann)])  # r21d-infer
    assert problems == []
    assert [(video.path, video.label) for video in videos] == [
        (str(tmp_path / 'my clip.mp4'), 3), (str(tmp_path / 'sub/b.avi'), None),
        (str(tmp_path / 'c.mkv'), 1)]
    jobs = list_videos(str(ann))  # r21d-extract-features
    assert [(job.name, job.path, job.lineno) for job in jobs] == [
        ('my clip.mp4', str(tmp_path / 'my clip.mp4'), 3),
        ('sub/b.avi', str(tmp_path / 'sub/b.avi'), 5), ('c.mkv', str(tmp_path / 'c.mkv'), 6)]


def test_bad_lines_are_named_together(tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_bytes(b'a.mp4 0\nframes/dir 30 1\nb\xff.mp4\nc.mp4 x\n')
    with pytest.raises(AnnotationError) as error:
        read_video_list(str(ann))
    assert str(error.value) == (
        f'3 bad line(s) in annotation file {ann}:\n'
        f'  {ann}:2: expected "<video path> <label>...", the path ending in one of .mp4, .avi, '
        f".mkv, .webm, .mov, .m4v, .mpg, .mpeg, .flv, .3gp: 'frames/dir 30 1'\n"
        f"  {ann}:3: not UTF-8 text (byte 0xff at column 2): 'b\\\\xff.mp4'\n"
        f"  {ann}:4: label 'x' is not an integer: 'c.mp4 x'")
    ann.write_text('# nothing\n\n')
    with pytest.raises(AnnotationError, match='list.txt: no videos listed'):
        read_video_list(str(ann))


def test_folders_list_their_videos_sorted(tmp_path):
    for name in ('b.mp4', 'a/c.AVI', 'notes.txt'):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b'')
    assert [entry.path for entry in find_videos(str(tmp_path))] == ['a/c.AVI', 'b.mp4']
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no video files'):
        find_videos(str(tmp_path / 'empty'))
