"""Datasets that name the file and annotation line of every bad sample, with an opt-in skip policy.

MMAction2's ``VideoDataset`` and ``RawframeDataset`` fail on bad data with messages that name
neither the file nor the line (``ValueError: too many values to unpack``, decord's
``Error reading 0 bytes``), and silently loop the frames of a video shorter than one clip.
``RobustVideoDataset`` and ``RobustRawframeDataset`` are drop-in replacements:

* the annotation file is validated when it is loaded; every malformed line and every label
  out of range is reported as ``ann_file:line: reason`` in one :class:`AnnotationError`;
* every sample is loaded under a guard: a missing or empty file, a decoder failure (zero-byte,
  truncated or non-video files), a missing frame file (RGB or flow frames of a rawframe
  dataset) or a video shorter than one clip raises :class:`BadSampleError` naming the
  annotation line, the file and the reason;
* with ``skip_bad_samples=True`` (training sets only) a bad sample is logged by name, counted
  and replaced by a random other sample (mmengine's ``max_refetch`` mechanism); once more than
  ``max_skip_fraction`` of the samples drawn were bad, :class:`SkipLimitError` stops the run.
  Counts live in each data-loading process (every DataLoader worker, or the main process when
  ``num_workers=0``); non-persistent workers start each epoch from zero.
"""
import faulthandler
import os
import os.path as osp
import re
import types
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Sequence

from mmaction.datasets import RawframeDataset, VideoDataset
from mmaction.registry import DATASETS
from mmengine.fileio import exists, list_from_file
from mmengine.logging import MMLogger
from torch.utils.data import get_worker_info

#: Lines shown in one AnnotationError; the rest are counted.
MAX_REPORTED_LINES = 20


class AnnotationError(ValueError):
    """An annotation file has malformed lines or labels out of range."""


class BadSampleError(RuntimeError):
    """A sample cannot be loaded; the message names the annotation line, the file and why."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f'{location}: {reason}')
        self.location = location
        self.reason = reason


class SkipLimitError(RuntimeError):
    """More than ``max_skip_fraction`` of the samples drawn were bad."""


class _LineError(ValueError):
    """Why one annotation line is invalid (internal: becomes ``ann_file:line: reason``)."""


class _SampleProblem(Exception):
    """Why one sample is bad (internal: becomes a BadSampleError naming the sample)."""


@dataclass(frozen=True)
class AnnotationLine:
    """One non-blank line of an annotation file: the parsed sample, or why it is invalid."""

    lineno: int
    text: str
    info: Optional[dict]
    error: Optional[str]


def _parse_labels(tokens: Sequence[str], multi_class: bool, num_classes: Optional[int],
                  require_label: bool):
    if not tokens:
        if require_label:
            raise _LineError('no label (only test/inference sets may omit labels)')
        return [-1] if multi_class else -1
    if not multi_class and len(tokens) > 1:
        raise _LineError(f'{len(tokens)} labels on a single-label line (set multi_class=True '
                         'for multi-label data, or check the delimiter)')
    labels = []
    for token in tokens:
        try:
            label = int(token)
        except ValueError:
            raise _LineError(f'label {token!r} is not an integer') from None
        if label < 0 or (num_classes is not None and label >= num_classes):
            valid = f'0..{num_classes - 1}' if num_classes is not None else '>= 0'
            raise _LineError(f'label {label} is out of range ({valid})')
        labels.append(label)
    return labels if multi_class else labels[0]


def parse_video_line(text: str, delimiter: str = ' ', multi_class: bool = False,
                     num_classes: Optional[int] = None, require_label: bool = True) -> dict:
    """Parse ``<video path><delimiter><label>[<delimiter><label>...]`` as VideoDataset does.

    Raises:
        ValueError: the line is malformed or a label is out of range.
    """
    tokens = text.strip().split(delimiter)
    if not tokens[0] or '' in tokens:
        raise _LineError(f'expected "<video>{delimiter}<label>" with single delimiters '
                         f'{delimiter!r}')
    return dict(filename=tokens[0],
                label=_parse_labels(tokens[1:], multi_class, num_classes, require_label))


def parse_rawframe_line(text: str, with_offset: bool = False, multi_class: bool = False,
                        num_classes: Optional[int] = None, require_label: bool = True) -> dict:
    """Parse ``<frame dir> [<offset>] <total frames> <label>...`` as RawframeDataset does.

    Raises:
        ValueError: the line is malformed, the frame count is not positive or a label is out
            of range.
    """
    tokens = text.split()
    counts = ['offset', 'total_frames'] if with_offset else ['total_frames']
    if len(tokens) < 1 + len(counts):
        raise _LineError(f'expected "<frame dir> {" ".join(f"<{c}>" for c in counts)} <label>"')
    info = dict(frame_dir=tokens[0])
    for name, token in zip(counts, tokens[1:]):
        try:
            info[name] = int(token)
        except ValueError:
            raise _LineError(f'{name} {token!r} is not an integer') from None
    if info['total_frames'] <= 0:
        raise _LineError(f'total_frames is {info["total_frames"]}; a sample needs frames')
    if info.get('offset', 0) < 0:
        raise _LineError(f'offset {info["offset"]} is negative')
    info['label'] = _parse_labels(tokens[1 + len(counts):], multi_class, num_classes,
                                  require_label)
    return info


def read_annotation(ann_file: str, parse_line: Callable[[str], dict],
                    backend_args: Optional[dict] = None) -> Iterator[AnnotationLine]:
    """Parse every non-blank line of ``ann_file``, keeping its 1-based line number."""
    for lineno, text in enumerate(list_from_file(ann_file, backend_args=backend_args), 1):
        if not text.strip():
            continue
        try:
            yield AnnotationLine(lineno, text, parse_line(text), None)
        except _LineError as exc:
            yield AnnotationLine(lineno, text, None, str(exc))


def format_annotation_errors(ann_file: str, bad: Sequence[AnnotationLine]) -> str:
    """``ann_file:line: reason: 'text'`` for the first bad lines, and how many more there are."""
    shown = [f'  {ann_file}:{line.lineno}: {line.error}: {line.text.strip()!r}'
             for line in bad[:MAX_REPORTED_LINES]]
    if len(bad) > MAX_REPORTED_LINES:
        shown.append(f'  ... and {len(bad) - MAX_REPORTED_LINES} more')
    return '\n'.join(shown)


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


def _check_loading_state(results: dict, allow_short_videos: bool) -> None:
    """Raise _SampleProblem for what a pipeline step produced that would make a wrong sample."""
    total = results.get('total_frames')
    if total is not None and total <= 0:
        raise _SampleProblem('no decodable frames')
    if total is not None and not allow_short_videos and 'clip_len' in results:
        span = shortest_clip_span(results['clip_len'], results.get('frame_interval', 1))
        if total < span:
            raise _SampleProblem(
                f'{total} frames, fewer than the {span} that one clip spans (clip_len '
                f'{results["clip_len"]} x frame_interval {results.get("frame_interval", 1)}); '
                'MMAction2 would loop the frames. Set allow_short_videos=True to accept that')
    imgs = results.get('imgs')
    if isinstance(imgs, list) and any(img is None for img in imgs):
        first = [img is None for img in imgs].index(True)
        raise _SampleProblem(
            f'frame {first} of the clip could not be decoded (truncated or corrupt file)')


def _call(function: Callable, argument):
    return function(argument)


def _call_labelled(label: str, function: Callable, argument):
    """``function(argument)`` in a frame whose file name is ``label``.

    A decoder can crash in native code (decord segfaults on some truncated AVI files read from
    memory); no Python exception can report that. faulthandler's report of the crash prints
    each frame's file name, so it then names the sample being decoded.
    """
    code = _call.__code__.replace(co_filename=label)
    return types.FunctionType(code, _call.__globals__)(function, argument)


def exception_summary(exc: BaseException) -> str:
    """``Type: first line of the message``, without decord's timestamp and source location."""
    lines = str(exc).strip().splitlines()
    message = re.sub(r'^\[[\d:]+\] \S+:\d+: ', '', lines[0]) if lines else ''
    return f'{type(exc).__name__}: {message}' if message else type(exc).__name__


class _RobustLoading:
    """The load-time validation, loading guard and skip policy shared by the robust datasets."""

    #: data_info key holding the path of a sample's file or frame directory.
    source_key: str
    #: data_prefix key under which that path is rooted.
    prefix_key: str

    def _init_robustness(self, skip_bad_samples: bool, max_skip_fraction: float,
                         skip_limit_min_seen: int, allow_short_videos: bool) -> None:
        if not 0 <= max_skip_fraction <= 1:
            raise ValueError(f'max_skip_fraction must lie in [0, 1], got {max_skip_fraction}')
        self.skip_bad_samples = skip_bad_samples
        self.max_skip_fraction = max_skip_fraction
        self.skip_limit_min_seen = skip_limit_min_seen
        self.allow_short_videos = allow_short_videos
        self.samples_seen = 0
        self.samples_skipped = 0

    def _parse_line(self, text: str) -> dict:
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        """Load the annotation file; raise one AnnotationError naming every bad line."""
        if not exists(self.ann_file):
            raise FileNotFoundError(f'annotation file {self.ann_file} not found')
        lines = list(read_annotation(self.ann_file, self._parse_line))
        bad = [line for line in lines if line.error is not None]
        if bad:
            raise AnnotationError(f'{len(bad)} bad line(s) in annotation file {self.ann_file}:'
                                  f'\n{format_annotation_errors(self.ann_file, bad)}')
        prefix = self.data_prefix.get(self.prefix_key)
        data_list = []
        for line in lines:
            info = dict(line.info, ann_lineno=line.lineno)
            if prefix is not None:
                info[self.source_key] = osp.join(prefix, info[self.source_key])
            data_list.append(info)
        return data_list

    def _location(self, data_info: dict) -> str:
        return f'{self.ann_file}:{data_info["ann_lineno"]}: {data_info[self.source_key]}'

    def _check_source(self, data_info: dict) -> None:
        raise NotImplementedError

    def _load(self, results: dict):
        """Run the pipeline step by step, checking what each step produced."""
        self._check_source(results)
        for transform in self.pipeline.transforms:
            try:
                results = transform(results)
            except Exception as exc:
                name = type(transform).__name__
                hint = ('; the file is corrupt, truncated or not a video'
                        if name.endswith(('Init', 'Decode')) else '')
                raise _SampleProblem(f'{name} failed: {exception_summary(exc)}{hint}') from exc
            if results is None:
                return None
            _check_loading_state(results, self.allow_short_videos)
        return results

    def prepare_data(self, idx: int):
        """The idx-th sample through the pipeline, or None when the skip policy drops it.

        Raises:
            BadSampleError: the sample is bad and skipping is off (or this is a test set).
            SkipLimitError: skipping is on and too many samples were bad.
        """
        if not faulthandler.is_enabled():
            faulthandler.enable()
        data_info = self.get_data_info(idx)
        location = self._location(data_info)
        self.samples_seen += 1
        try:
            return _call_labelled(f'<loading {location}>', self._load, data_info)
        except _SampleProblem as exc:
            error = BadSampleError(location, str(exc))
            if not self.skip_bad_samples or self.test_mode:
                raise error from exc.__cause__
            self._count_skip(error)
            return None

    def _count_skip(self, error: BadSampleError) -> None:
        self.samples_skipped += 1
        worker = get_worker_info()
        where = (f'DataLoader worker {worker.id}' if worker is not None
                 else f'process {os.getpid()}')
        fraction = self.samples_skipped / self.samples_seen
        MMLogger.get_current_instance().warning(
            f'Skipped bad sample ({self.samples_skipped} skipped of {self.samples_seen} drawn '
            f'by {where}, {fraction:.1%}): {error}')
        if (self.samples_seen >= min(self.skip_limit_min_seen, len(self))
                and fraction > self.max_skip_fraction):
            raise SkipLimitError(
                f'{self.samples_skipped} of the {self.samples_seen} samples drawn by {where} '
                f'were bad ({fraction:.1%}), more than max_skip_fraction='
                f'{self.max_skip_fraction}. Last: {error}. '
                f'List them all with: r21d-check-dataset {self.ann_file} '
                f'{self.data_prefix.get(self.prefix_key) or "."}{self._check_options()} '
                '(from a checkout: python tools/check_dataset.py, same arguments)')

    def _check_options(self) -> str:
        """r21d-check-dataset options for this dataset's kind of annotation."""
        return ''



_ROBUST_ARGS = """
        skip_bad_samples (bool): Replace a bad training sample by a random other one (logged
            and counted) instead of raising. Never applies in test mode, where a replaced
            sample would change the metric. Defaults to False.
        max_skip_fraction (float): With ``skip_bad_samples``, stop with SkipLimitError once
            more than this fraction of the samples drawn were bad. Defaults to 0.01.
        skip_limit_min_seen (int): Samples a loading process must have drawn before the
            fraction is judged (or the dataset size, if smaller). Defaults to 100.
        allow_short_videos (bool): Accept samples with fewer frames than one clip spans
            (MMAction2 then loops their frames) instead of treating them as bad.
            Defaults to False.
"""


@DATASETS.register_module()
class RobustVideoDataset(_RobustLoading, VideoDataset):
    __doc__ = f"""MMAction2's VideoDataset with file:line errors and an opt-in skip policy.

    Takes every argument of ``VideoDataset``; ``num_classes`` (optional for single-label
    data) enables the label range check. Each data_info also carries ``ann_lineno``.

    Args:{_ROBUST_ARGS}"""

    source_key = 'filename'
    prefix_key = 'video'

    def __init__(self, *args, skip_bad_samples: bool = False, max_skip_fraction: float = 0.01,
                 skip_limit_min_seen: int = 100, allow_short_videos: bool = False,
                 **kwargs) -> None:
        self._init_robustness(skip_bad_samples, max_skip_fraction, skip_limit_min_seen,
                              allow_short_videos)
        super().__init__(*args, **kwargs)

    def _parse_line(self, text: str) -> dict:
        return parse_video_line(text, self.delimiter, self.multi_class, self.num_classes,
                                require_label=not self.test_mode)

    def _check_source(self, data_info: dict) -> None:
        problem = local_file_problem(data_info['filename'])
        if problem is not None:
            raise _SampleProblem(problem)


@DATASETS.register_module()
class RobustRawframeDataset(_RobustLoading, RawframeDataset):
    __doc__ = f"""MMAction2's RawframeDataset with file:line errors and an opt-in skip policy.

    Takes every argument of ``RawframeDataset``; ``num_classes`` enables the label range
    check. A frame file missing from a frame directory (RGB, or the x/y images of a flow
    dataset) is a bad sample naming the missing file.

    Args:{_ROBUST_ARGS}"""

    source_key = 'frame_dir'
    prefix_key = 'img'

    def __init__(self, *args, skip_bad_samples: bool = False, max_skip_fraction: float = 0.01,
                 skip_limit_min_seen: int = 100, allow_short_videos: bool = False,
                 **kwargs) -> None:
        self._init_robustness(skip_bad_samples, max_skip_fraction, skip_limit_min_seen,
                              allow_short_videos)
        super().__init__(*args, **kwargs)

    def _parse_line(self, text: str) -> dict:
        return parse_rawframe_line(text, self.with_offset, self.multi_class, self.num_classes,
                                   require_label=not self.test_mode)

    def _check_options(self) -> str:
        return (f' --rawframes --modality {self.modality} --filename-tmpl '
                f'{self.filename_tmpl!r} --start-index {self.start_index}'
                + (' --with-offset' if self.with_offset else ''))

    def _check_source(self, data_info: dict) -> None:
        frame_dir = data_info['frame_dir']
        if '://' not in frame_dir and not osp.isdir(frame_dir):
            raise _SampleProblem('frame directory not found')


__all__ = [
    'AnnotationError', 'AnnotationLine', 'BadSampleError', 'SkipLimitError',
    'RobustVideoDataset', 'RobustRawframeDataset', 'parse_video_line', 'parse_rawframe_line',
    'read_annotation', 'format_annotation_errors', 'local_file_problem', 'exception_summary',
    'shortest_clip_span',
]
