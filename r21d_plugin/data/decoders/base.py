"""What every decoder backend does the same way: the checks before opening, the bad-video
messages, the transient errors that are retried (not blamed on the video), the deadline.

A backend (``FrameReader`` subclass) only opens its library's reader (``_open``), says
how many frames the video has and decodes frames by index (``_read``); this base class
turns its failures into the same ``VideoReadError`` text whichever library raised them.
"""
import errno
import os
import os.path as osp
import threading
import time
from typing import Callable, ClassVar, Optional, Sequence, TypeVar

import numpy as np

from ..robust import exception_summary

#: OS errors that say nothing about the file: too many open files, out of memory, a stale
#: NFS handle, an interrupted or would-block call, an I/O error of the storage. Decoding is
#: retried on them (``TRANSIENT_RETRIES`` times, waiting longer each time); if they persist
#: the run stops with ``TransientDecodeError`` instead of marking good videos bad.
TRANSIENT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ESTALE,
                              errno.EIO, errno.EAGAIN, errno.EINTR, errno.ETIMEDOUT,
                              errno.ENOLCK, errno.ENOBUFS})
TRANSIENT_RETRIES = 3
#: Seconds before the first retry; doubled for each next one.
RETRY_WAIT = 0.5

T = TypeVar('T')


class VideoReadError(RuntimeError):
    """A video that cannot be read; the message names the file and the reason."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f'{source}: {reason}')
        self.source, self.reason = source, reason


class DecodeTimeout(VideoReadError):
    """A decoder call (opening the video, or decoding one read's frames) that did not return
    within the timeout: taken as a hung decoder. Its thread is left behind (a process that
    runs many videos should be recycled after one: ``isolated_pool`` does)."""


class TransientDecodeError(OSError):
    """An error of the machine, not of the video (``TRANSIENT_ERRNOS``), that persisted
    through the retries: the run stops here rather than mark the videos after it bad."""

    def __init__(self, source: str, code: int, text: str) -> None:
        super().__init__(code, text)
        self.source = source

    def __reduce__(self):  # crosses process boundaries (isolated_pool) intact
        return type(self), (self.source, self.errno, self.strerror)

    def __str__(self) -> str:
        return self.strerror

    @classmethod
    def after(cls, source: str, error: BaseException, tries: int) -> 'TransientDecodeError':
        """The error ``error`` (a transient one) left after ``tries`` tries on ``source``."""
        code = transient_errno(error)
        name = errno.errorcode.get(code, str(code))
        return cls(source, code, f'{source}: {os.strerror(code)} ({name}) while decoding, '
                                 f'{tries} tries: a problem of this machine or its storage, '
                                 f'not of the video ({exception_summary(error)}); fix it (e.g. '
                                 f'ulimit -n for EMFILE, memory for ENOMEM, the NFS mount for '
                                 f'ESTALE/EIO) and rerun')


def transient_errno(exc: BaseException) -> Optional[int]:
    """The errno of ``exc`` if it is one of ``TRANSIENT_ERRNOS``, else None.

    Python's and PyAV's errors carry ``errno``; MemoryError is ENOMEM; decord and
    torchcodec only put FFmpeg's or the C library's text in the message, so it is matched
    against ``os.strerror`` of each transient errno.
    """
    if isinstance(exc, TransientDecodeError):
        return exc.errno
    if isinstance(exc, MemoryError):
        return errno.ENOMEM
    code = getattr(exc, 'errno', None)
    if code in TRANSIENT_ERRNOS:
        return code
    if isinstance(exc, OSError) and code is not None:
        return None  # an OSError about the file itself (ENOENT, EACCES, ...)
    text = str(exc)
    return next((code for code in sorted(TRANSIENT_ERRNOS) if os.strerror(code) in text), None)


def retry_transient(call: Callable[[], T], source: str) -> T:
    """``call()``, retried on transient errors; ``TransientDecodeError`` if they persist."""
    for attempt in range(TRANSIENT_RETRIES + 1):
        try:
            return call()
        except Exception as exc:  # noqa: B902 (classified here)
            if transient_errno(exc) is None or isinstance(exc, TransientDecodeError):
                raise
            if attempt == TRANSIENT_RETRIES:
                raise TransientDecodeError.after(source, exc, attempt + 1) from exc
            time.sleep(RETRY_WAIT * 2**attempt)
    raise AssertionError('unreachable')


def call_with_timeout(call: Callable[[], T], timeout: Optional[float], source: str) -> T:
    """``call()``, in a daemon thread when ``timeout`` (seconds) is set: ``DecodeTimeout``
    if it has not returned by then. The libraries release the GIL while they decode, so a
    hung decoder leaves this thread free to give up on it."""
    if not timeout:
        return call()
    outcome = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome['value'] = call()
        except BaseException as exc:  # handed to the caller
            outcome['error'] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f'decode {osp.basename(source)}', daemon=True).start()
    if not done.wait(timeout):
        raise DecodeTimeout(source, f'the decoder hung: no result in {timeout:g} s '
                                    f'(--decode-timeout)')
    if 'error' in outcome:
        raise outcome['error']
    return outcome['value']


class FrameReader:
    """A video file decoded by frame index: what every backend gives the use side.

    Frames are ``len x H x W x 3`` uint8 RGB arrays, upright as the file's display matrix
    says (decord and torchcodec apply it; the PyAV backend rotates to match). Frame ``i``
    is the ``i``-th frame in presentation order; the count is the number of the video
    stream's packets, as decord counts them (a scan of the file's packets, no decoding).
    Opening a missing, empty or unreadable file and decoding a frame that is not there
    raise ``VideoReadError`` with the same reasons for every backend.

    A file whose packets are fewer than its header lists (cut off in the middle of its
    data) is refused as truncated, though its first frames decode: training with it would
    fail or see a different video.

    Subclasses set ``name`` and ``module`` (the library they import) and implement
    ``_open`` (set ``self.num_frames``, ``self.fps`` and, where the container says it,
    ``self.header_frames``) and ``_read``.
    """

    #: The ``--decoder`` name.
    name: ClassVar[str] = ''
    #: The Python module the backend needs (checked by ``available``).
    module: ClassVar[str] = ''

    def __init__(self, path: str, timeout: Optional[float] = None) -> None:
        self.timeout, self.hung = timeout, False
        if not osp.exists(path):
            raise VideoReadError(path, 'no such file')
        if osp.isdir(path):
            raise VideoReadError(path, 'is a folder, not a video file')
        if osp.getsize(path) == 0:
            raise VideoReadError(path, 'empty file (0 bytes)')
        self.path, self.num_frames, self.fps, self.header_frames = path, 0, 0.0, 0
        try:
            call_with_timeout(lambda: retry_transient(self._open, path), timeout, path)
        except (VideoReadError, TransientDecodeError):
            raise
        except Exception as exc:  # each library raises its own types
            raise VideoReadError(path, f'not a readable video ({exception_summary(exc)})') from None
        if self.num_frames == 0:
            raise VideoReadError(path, 'the video stream has no frames')
        if self.num_frames < self.header_frames:
            self.close()
            raise VideoReadError(path, f'not a readable video (truncated: its header lists '
                                       f'{self.header_frames} frames, the file holds '
                                       f'{self.num_frames})')

    @classmethod
    def available(cls) -> bool:
        """Whether the backend's library imports (torchcodec also needs FFmpeg's libraries)."""
        try:
            __import__(cls.module)
        except Exception:  # ImportError, or OSError for missing shared libraries
            return False
        return True

    def __len__(self) -> int:
        return self.num_frames

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` (``len x H x W x 3`` uint8 RGB)."""
        indices = [int(i) for i in indices]
        if self.hung:
            raise DecodeTimeout(self.path, 'the decoder hung on an earlier read')
        try:
            frames = call_with_timeout(
                lambda: retry_transient(lambda: self._read(indices), self.path),
                self.timeout, self.path)
        except DecodeTimeout:
            self.hung = True
            raise
        except (VideoReadError, TransientDecodeError):
            raise
        except Exception as exc:
            raise VideoReadError(
                self.path, f'decoding failed at frames {indices[0]}..{indices[-1]} of '
                           f'{self.num_frames} (truncated or corrupt: {exception_summary(exc)})'
            ) from None
        return frames

    def close(self) -> None:
        """Release the library's reader (also done when the object is collected)."""

    def _open(self) -> None:
        raise NotImplementedError

    def _read(self, indices: Sequence[int]) -> np.ndarray:
        raise NotImplementedError


def header_frame_count(path: str) -> int:
    """The frame count a file's header lists (0 where it lists none), read by PyAV."""
    import av

    with av.open(path) as container:
        return int(container.streams.video[0].frames) if container.streams.video else 0


class MissingFrames(RuntimeError):
    """Raised by a backend when the stream ends before a frame the index lists."""

    def __init__(self, index: int, decoded: int) -> None:
        super().__init__(f'frame {index} is not in the stream (it ended after {decoded} '
                         f'decoded frames)')
