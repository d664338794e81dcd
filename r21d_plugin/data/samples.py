"""What makes one sample bad: checks on a file and on what each pipeline step produced.

Shared by the robust datasets (``data.robust``), the dataset check and the use side's
decoding (``exception_summary`` names a decoder's failure in one line).
"""
import os.path as osp
import re
import types
from typing import Callable, Optional


class SampleProblem(Exception):
    """Why one sample is bad (becomes a ``BadSampleError`` naming the sample)."""


def local_file_problem(path: str) -> Optional[str]:
    """Why a local file cannot be a video (missing, not a file, empty), or None.

    Remote paths (``scheme://``) are left to the reader.
    """
    if '://' in path:
        return None
    if not osp.exists(path):
        return 'file not found'
    if not osp.isfile(path):
        return 'not a file'
    if osp.getsize(path) == 0:
        return 'file is empty (0 bytes)'
    return None


def shortest_clip_span(clip_len: int, frame_interval: int) -> int:
    """Frames one clip of ``clip_len`` frames ``frame_interval`` apart spans."""
    return (clip_len - 1) * frame_interval + 1


def check_loading_state(results: dict, allow_short_videos: bool) -> None:
    """Raise SampleProblem for what a pipeline step produced that would make a wrong sample."""
    total = results.get('total_frames')
    if total is not None and total <= 0:
        raise SampleProblem('no decodable frames')
    if total is not None and not allow_short_videos and 'clip_len' in results:
        span = shortest_clip_span(results['clip_len'], results.get('frame_interval', 1))
        if total < span:
            raise SampleProblem(
                f'{total} frame{"s" if total > 1 else ""}, fewer than the {span} that one '
                f'clip spans (clip_len '
                f'{results["clip_len"]} x frame_interval {results.get("frame_interval", 1)}); '
                'MMAction2 would loop the frames. Set allow_short_videos=True to accept that')
    imgs = results.get('imgs')
    if isinstance(imgs, list) and any(img is None for img in imgs):
        first = [img is None for img in imgs].index(True)
        raise SampleProblem(
            f'frame {first} of the clip could not be decoded (truncated or corrupt file)')
    if isinstance(imgs, list) and results.get('modality', 'RGB') == 'RGB':
        # decord returns garbage shapes for some frame sizes (1 x 1 MJPG: 1 x 1 x 96).
        odd = next((img.shape for img in imgs if getattr(img, 'ndim', 3) != 3
                    or img.shape[2] != 3), None)
        if odd is not None:
            raise SampleProblem(f'the decoder returned a frame of shape {odd}, not height x '
                                 'width x 3 (a frame size it does not handle)')


def _call(function: Callable, argument):
    return function(argument)


def call_labelled(label: str, function: Callable, argument):
    """``function(argument)`` in a frame whose file name is ``label``.

    A decoder can crash in native code (decord segfaults on some truncated AVI files read from
    memory); no Python exception can report that. faulthandler's report of the crash prints
    each frame's file name, so it then names the sample being decoded.
    """
    code = _call.__code__.replace(co_filename=label)
    return types.FunctionType(code, _call.__globals__)(function, argument)


#: Decoder messages that have a plainer explanation.
_DECODER_HINTS = {
    'cannot find video stream': 'the file has no video stream (audio only, or a container '
                                'with no frames written)',
    'The size must exactly match': 'decord cannot convert frames of this size (seen with '
                                   'tiny or odd widths); re-encode the video at a usual size',
}


def exception_summary(exc: BaseException) -> str:
    """``Type: first line of the message``, without decord's timestamp and source location."""
    lines = str(exc).strip().splitlines()
    message = re.sub(r'^\[[\d:]+\] \S+:\d+: ', '', lines[0]) if lines else ''
    return f'{type(exc).__name__}: {message}' if message else type(exc).__name__


def step_failure(step_name: str, exc: BaseException) -> str:
    """Why pipeline step ``step_name`` failed on a sample, with a plainer explanation where
    one is known (decoders' messages, or: a decoding step failed on a bad file)."""
    summary = exception_summary(exc)
    hint = next((f'; {why}' for known, why in _DECODER_HINTS.items() if known in summary), None)
    if hint is None:
        hint = ('; the file is corrupt, truncated or not a video'
                if step_name.endswith(('Init', 'Decode')) else '')
    return f'{step_name} failed: {summary}{hint}'


__all__ = ['SampleProblem', 'call_labelled', 'check_loading_state', 'exception_summary',
           'local_file_problem', 'shortest_clip_span', 'step_failure']
