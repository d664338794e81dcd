"""Labelled videos: H.264 that browsers play, decodable, the labels drawn; mp4v fallback."""
import av
import cv2
import numpy as np
import pytest

from r21d_plugin.apis import Video, visualization
from r21d_plugin.apis.visualization import draw_lines, write_labelled_video
from r21d_plugin.data.decoders import open_reader


def smooth_frames(count: int, height: int = 45, width: int = 61) -> np.ndarray:
    """Frames of a smooth moving texture (odd sides: the writer pads them to even)."""
    base = np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    return np.stack([cv2.resize(np.roll(base, i, axis=1), (width, height))
                     for i in range(count)])


def _codec(path) -> str:
    with av.open(str(path)) as container:
        return container.streams.video[0].codec_context.name


@pytest.mark.skipif(not visualization.h264_available(), reason='PyAV has no libx264')
def test_labelled_video_is_h264_and_decodes_to_the_drawn_frames(tmp_path):
    frames = smooth_frames(12)
    out = tmp_path / 'labelled.mp4'
    lines_at = lambda index: [f'frame {index}']  # noqa: E731
    assert write_labelled_video(Video(frames, fps=10), str(out), lines_at) == 12
    assert _codec(out) == 'h264'
    reader = open_reader(str(out), 'pyav')
    decoded = reader.read(range(len(reader)))
    assert (len(reader), reader.fps) == (12, 10.0)
    assert decoded.shape == (12, 46, 62, 3)  # padded to even sides
    drawn = np.stack([draw_lines(frame, lines_at(i)) for i, frame in enumerate(frames)])
    decoded = decoded[:, :45, :61].astype(int)
    error = np.abs(decoded - drawn).mean()
    # lossy, but far nearer the labelled frames than the frames without labels or the next
    assert error < np.abs(decoded - frames).mean() / 2
    assert error < np.abs(decoded[1:] - drawn[:-1]).mean() / 5


def test_without_h264_the_labelled_video_is_mp4v(tmp_path, monkeypatch):
    monkeypatch.setattr(visualization, 'h264_available', lambda: False)
    out = tmp_path / 'labelled.mp4'
    write_labelled_video(Video(smooth_frames(5, 32, 32), fps=10), str(out), lambda i: ['x'])
    assert _codec(out) == 'mpeg4'
    assert len(open_reader(str(out), 'pyav')) == 5
