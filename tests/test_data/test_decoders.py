"""The decoder backends: the same frames, counts, seeks and bad-video reasons for each.

Every backend runs FFmpeg's decoders and its RGB conversion, so frames must be equal to the
bit; each installed backend is compared with PyAV (a dependency, always installed). A
backend is skipped only where its library does not import.
"""
import time

import numpy as np
import pytest
from helpers import make_broken, rotated_mp4, variable_rate_mp4, write_h264_video, write_video
from stuck_decoders import EMFILEReader, SleepingReader, StuckEMFILEReader

from r21d_plugin.apis import Video
from r21d_plugin.data.decoders import (AUTO_ORDER, DECODERS, DecodeTimeout,
                                       DecoderUnavailableError, TransientDecodeError,
                                       VideoReadError, base, open_reader, resolve_decoder)

BACKENDS = [pytest.param(name, marks=pytest.mark.skipif(
    not DECODERS[name].available(), reason=f'{DECODERS[name].module} is not installed'))
    for name in AUTO_ORDER]


@pytest.fixture(scope='module')
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp('media')
    plain = write_video(root / 'plain.mp4', 40)
    (root / 'rotated.mp4').write_bytes(rotated_mp4(plain.read_bytes(), 90))
    (root / 'vfr.mp4').write_bytes(variable_rate_mp4(plain.read_bytes()))
    write_h264_video(root / 'h264.mp4', 50)
    write_video(root / 'mjpg.avi', 12, 'MJPG')
    return {path.stem: str(path) for path in root.iterdir()}


def _all_frames(path, decoder):
    reader = open_reader(path, decoder)
    return reader, reader.read(range(len(reader)))


@pytest.mark.parametrize('decoder', BACKENDS)
@pytest.mark.parametrize('name', ['plain', 'rotated', 'vfr', 'h264', 'mjpg'])
def test_every_backend_decodes_the_same_frames(media, decoder, name):
    reference, expected = _all_frames(media[name], 'pyav')
    reader, frames = _all_frames(media[name], decoder)
    assert (len(reader), reader.fps) == (len(reference), reference.fps)
    assert frames.dtype == np.uint8 and frames.shape == expected.shape
    np.testing.assert_array_equal(frames, expected)


@pytest.mark.parametrize('decoder', BACKENDS)
def test_rotated_videos_come_upright_and_variable_rates_keep_every_frame(media, decoder):
    _, plain = _all_frames(media['plain'], decoder)
    _, rotated = _all_frames(media['rotated'], decoder)
    # a display matrix of 90 degrees: the stored frames turned a quarter clockwise
    np.testing.assert_array_equal(rotated, np.rot90(plain, -1, axes=(1, 2)))
    reader, vfr = _all_frames(media['vfr'], decoder)
    assert len(reader) == 40  # frames by index, whatever their timestamps
    np.testing.assert_array_equal(vfr, plain)


@pytest.mark.parametrize('decoder', BACKENDS)
def test_frames_read_in_any_order_equal_a_full_decode(media, decoder):
    reader, full = _all_frames(media['h264'], decoder)  # keyframes every 8, B-frames
    for indices in ([5, 3, 49, 0, 20, 21, 48], [49], [10, 10, 2], [40, 8, 16, 24]):
        np.testing.assert_array_equal(reader.read(indices), full[indices])


@pytest.mark.parametrize('decoder', BACKENDS)
def test_bad_videos_give_the_same_reasons(tmp_path, decoder):
    reasons = {}
    for kind in ('missing', 'zero_bytes', 'random_bytes', 'truncated',
                 'truncated_mid_stream', 'truncated_avi'):
        with pytest.raises(VideoReadError) as error:
            open_reader(str(make_broken(tmp_path, kind)), decoder)
        reasons[kind] = error.value.reason
    assert reasons['missing'] == 'no such file'
    assert reasons['zero_bytes'] == 'empty file (0 bytes)'
    for kind in ('random_bytes', 'truncated', 'truncated_mid_stream', 'truncated_avi'):
        assert reasons[kind].startswith('not a readable video ('), (kind, reasons[kind])
    # the media data cut off: the header's count is more than the file's frames
    if decoder != 'decord':  # (decord refuses the mp4 itself, while scanning its packets)
        assert reasons['truncated_mid_stream'] == ('not a readable video (truncated: its '
                                                   'header lists 40 frames, the file holds 12)')
    assert reasons['truncated_avi'] == ('not a readable video (truncated: its header lists '
                                        '40 frames, the file holds 15)')


def test_auto_takes_the_first_installed_backend_and_names_are_checked(monkeypatch):
    first = next(name for name in AUTO_ORDER if DECODERS[name].available())
    assert resolve_decoder('auto') is DECODERS[first]
    monkeypatch.setattr(DECODERS['torchcodec'], 'available', classmethod(lambda cls: False))
    assert resolve_decoder('auto') is DECODERS['pyav']
    with pytest.raises(DecoderUnavailableError, match=r'--decoder torchcodec: torchcodec'
                                                      r'\.decoders does not import here'):
        resolve_decoder('torchcodec')
    with pytest.raises(DecoderUnavailableError, match=r'--decoder ffmpeg: unknown; choose '
                                                      r'one of auto, torchcodec, pyav'):
        resolve_decoder('ffmpeg')


def test_a_hung_decoder_fails_its_video_after_the_timeout(media, tmp_path):
    hang = tmp_path / 'hang.mp4'
    hang.write_bytes(open(media['plain'], 'rb').read())
    began = time.monotonic()
    with pytest.raises(DecodeTimeout, match=r'hang\.mp4: the decoder hung: no result in '
                                            r'1 s \(--decode-timeout\)'):
        Video(str(hang), decoder=SleepingReader, timeout=1)
    assert time.monotonic() - began < 10
    Video(media['plain'], decoder=SleepingReader, timeout=1)  # the next video runs


def test_transient_errors_are_retried_then_stop_the_run(media, monkeypatch):
    monkeypatch.setattr(base, 'RETRY_WAIT', 0.0)
    reader = open_reader(media['plain'], EMFILEReader)  # fails twice, then decodes
    _, expected = _all_frames(media['plain'], 'pyav')
    np.testing.assert_array_equal(reader.read(range(40)), expected)
    stuck = open_reader(media['plain'], StuckEMFILEReader)
    with pytest.raises(TransientDecodeError, match=r'plain\.mp4: Too many open files '
                                                   r'\(EMFILE\) while decoding, 4 tries: a '
                                                   r'problem of this machine'):
        stuck.read([0])
    assert not isinstance(TransientDecodeError('x', 24, ''), VideoReadError)
