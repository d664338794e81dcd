"""Real encoded videos and the ways they break, made on the spot for the robustness tests."""
import struct
from pathlib import Path

import cv2
import numpy as np

SIZE = 32  # decord mis-decodes widths under 32


def write_video(path: Path, num_frames: int, fourcc: str = 'mp4v', seed: int = 0) -> Path:
    """An OpenCV-encoded video of random frames (mp4v in .mp4, MJPG in .avi)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (SIZE, SIZE))
    assert writer.isOpened(), path
    rng = np.random.default_rng(seed)
    for _ in range(num_frames):
        writer.write(rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8))
    writer.release()
    return path


def _boxes(data: bytes, start: int, end: int):
    while start < end:
        size, kind = struct.unpack('>I4s', data[start:start + 8])
        yield kind.decode('latin1'), start, size
        start += size


def move_moov_first(data: bytes) -> bytes:
    """An mp4 with its index (moov) before the media data, as streaming files have it.

    OpenCV writes moov last, so truncating its files loses the whole index; a "fast start"
    file truncated mid-stream opens and fails only while decoding.
    """
    top = {kind: (start, size) for kind, start, size in _boxes(data, 0, len(data))}
    moov_at, moov_size = top['moov']
    moov = bytearray(data[moov_at:moov_at + moov_size])

    def shift_chunk_offsets(start, end):
        for kind, at, size in _boxes(moov, start, end):
            if kind in ('trak', 'mdia', 'minf', 'stbl'):
                shift_chunk_offsets(at + 8, at + size)
            elif kind == 'stco':
                count = struct.unpack('>I', moov[at + 12:at + 16])[0]
                for entry in range(at + 16, at + 16 + 4 * count, 4):
                    offset = struct.unpack('>I', moov[entry:entry + 4])[0]
                    moov[entry:entry + 4] = struct.pack('>I', offset + moov_size)

    shift_chunk_offsets(8, moov_size)
    mdat_at = top['mdat'][0]
    return data[:mdat_at] + bytes(moov) + data[mdat_at:moov_at] + data[moov_at + moov_size:]


def make_broken(directory: Path, kind: str) -> Path:
    """A file of the given kind of breakage in ``directory``; returns its path."""
    if kind == 'missing':
        return directory / 'missing.mp4'
    if kind == 'zero_bytes':
        path = directory / 'zero.mp4'
        path.write_bytes(b'')
        return path
    if kind == 'random_bytes':
        path = directory / 'random.mp4'
        path.write_bytes(np.random.default_rng(1).bytes(5000))
        return path
    if kind == 'truncated':  # index lost: cut in the middle of an OpenCV mp4
        data = write_video(directory / 'whole.mp4', 40).read_bytes()
        path = directory / 'truncated.mp4'
        path.write_bytes(data[:len(data) // 2])
        return path
    if kind == 'truncated_mid_stream':  # index intact, media data cut
        data = move_moov_first(write_video(directory / 'whole.mp4', 40).read_bytes())
        path = directory / 'truncated_stream.mp4'
        path.write_bytes(data[:len(data) * 6 // 10])
        return path
    if kind == 'truncated_avi':  # decord segfaults reading it from memory
        data = write_video(directory / 'whole.avi', 40, 'MJPG').read_bytes()
        path = directory / 'truncated.avi'
        path.write_bytes(data[:len(data) // 2])
        return path
    if kind == 'short':
        return write_video(directory / 'short.mp4', 4)
    raise ValueError(kind)


def write_annotation(path: Path, lines) -> Path:
    path.write_text(''.join(f'{line}\n' for line in lines))
    return path


def write_frames(frame_dir: Path, num_frames: int, modality: str = 'RGB') -> Path:
    """A rawframe directory as MMAction2 stores it (img_00001.jpg or x_/y_00001.jpg)."""
    frame_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    for index in range(1, num_frames + 1):
        if modality == 'RGB':
            cv2.imwrite(str(frame_dir / f'img_{index:05}.jpg'),
                        rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8))
        else:
            for axis in 'xy':
                cv2.imwrite(str(frame_dir / f'{axis}_{index:05d}.jpg'),
                            rng.integers(0, 255, (SIZE, SIZE), dtype=np.uint8))
    return frame_dir


__all__ = ['SIZE', 'write_video', 'move_moov_first', 'make_broken', 'write_annotation',
           'write_frames']
