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
  and replaced by a random other sample (mmengine's ``max_refetch`` mechanism). The skip limit
  measures the dataset, not the luck of the draws: a file found bad once is known bad (never
  decoded again, never counted twice), and the fraction judged is *distinct bad files over
  distinct files tried*. It is judged once ``min(skip_limit_min_seen, distinct files listed)``
  distinct files have been tried, and again at every new bad file after that; past
  ``max_skip_fraction`` :class:`SkipLimitError` stops the run. The record of which files were
  tried and which were bad lives in shared memory created with the dataset, so the main process
  and all its DataLoader workers (persistent or not, every epoch) count together: the count is
  exact for one rank. Ranks count separately (each over the files its own loading processes
  tried; redraws may pick any file), so in a distributed run the limit stops the run as soon as
  one rank's count passes it.
"""
import faulthandler
import os.path as osp
import re
import types
from dataclasses import dataclass
from typing import Callable, Hashable, Iterator, List, NamedTuple, Optional, Sequence

import torch
from mmaction.datasets import RawframeDataset, VideoDataset
from mmaction.registry import DATASETS
from mmengine.dist import get_dist_info
from mmengine.fileio import exists, get
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
    """More than ``max_skip_fraction`` of the distinct files tried were bad."""


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


#: An integer as annotation files write it: ASCII digits, optionally signed (int() would
#: also take '1_0', ' 1' or other scripts' digits).
_INTEGER = re.compile(r'[-+]?[0-9]+')


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
        if not _INTEGER.fullmatch(token):
            raise _LineError(f'label {token!r} is not an integer')
        label = int(token)
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
        if not _INTEGER.fullmatch(token):
            raise _LineError(f'{name} {token!r} is not an integer')
        info[name] = int(token)
    if info['total_frames'] <= 0:
        raise _LineError(f'total_frames is {info["total_frames"]}; a sample needs frames')
    if info.get('offset', 0) < 0:
        raise _LineError(f'offset {info["offset"]} is negative')
    info['label'] = _parse_labels(tokens[1 + len(counts):], multi_class, num_classes,
                                  require_label)
    return info


#: First character of a comment line in an annotation file.
COMMENT = '#'


def _decode_line(raw: bytes) -> str:
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise _LineError(f'not UTF-8 text (byte 0x{raw[exc.start]:02x} at column '
                         f'{exc.start + 1})') from None


def read_annotation(ann_file: str, parse_line: Callable[[str], dict],
                    backend_args: Optional[dict] = None) -> Iterator[AnnotationLine]:
    """Parse every line of ``ann_file`` that holds an entry, keeping its 1-based number.

    Blank lines and comment lines (first non-blank character ``#``) are skipped. A line that
    is not UTF-8 text is an invalid line (its text shown with the bad bytes escaped), not an
    error for the whole file.
    """
    raw_lines = get(ann_file, backend_args=backend_args).splitlines()
    for lineno, raw in enumerate(raw_lines, 1):
        text = raw.decode('utf-8', errors='backslashreplace')
        if not text.strip() or text.lstrip().startswith(COMMENT):
            continue
        try:
            yield AnnotationLine(lineno, text, parse_line(_decode_line(raw)), None)
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
                f'{total} frame{"s" if total > 1 else ""}, fewer than the {span} that one '
                f'clip spans (clip_len '
                f'{results["clip_len"]} x frame_interval {results.get("frame_interval", 1)}); '
                'MMAction2 would loop the frames. Set allow_short_videos=True to accept that')
    imgs = results.get('imgs')
    if isinstance(imgs, list) and any(img is None for img in imgs):
        first = [img is None for img in imgs].index(True)
        raise _SampleProblem(
            f'frame {first} of the clip could not be decoded (truncated or corrupt file)')
    if isinstance(imgs, list) and results.get('modality', 'RGB') == 'RGB':
        # decord returns garbage shapes for some frame sizes (1 x 1 MJPG: 1 x 1 x 96).
        odd = next((img.shape for img in imgs if getattr(img, 'ndim', 3) != 3
                    or img.shape[2] != 3), None)
        if odd is not None:
            raise _SampleProblem(f'the decoder returned a frame of shape {odd}, not height x '
                                 'width x 3 (a frame size it does not handle)')


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


#: States of a distinct file in the skip record.
_UNTRIED, _GOOD, _BAD = 0, 1, 2


class SkipCounts(NamedTuple):
    """The skip record of one rank: distinct files tried, found bad, and listed."""

    tried: int
    bad: int
    listed: int


class _RobustLoading:
    """The load-time validation, loading guard and skip policy shared by the robust datasets."""

    #: data_info key holding the path of a sample's file or frame directory.
    source_key: str
    #: data_prefix key under which that path is rooted.
    prefix_key: str
    #: What one distinct sample source is called in messages (plural).
    source_noun: str

    def _init_robustness(self, skip_bad_samples: bool, max_skip_fraction: float,
                         skip_limit_min_seen: int, allow_short_videos: bool) -> None:
        if not 0 <= max_skip_fraction <= 1:
            raise ValueError(f'max_skip_fraction must lie in [0, 1], got {max_skip_fraction}')
        if skip_limit_min_seen < 1:
            raise ValueError(f'skip_limit_min_seen must be at least 1, got {skip_limit_min_seen}')
        self.skip_bad_samples = skip_bad_samples
        self.max_skip_fraction = max_skip_fraction
        self.skip_limit_min_seen = skip_limit_min_seen
        self.allow_short_videos = allow_short_videos
        # One byte per distinct source (_UNTRIED/_GOOD/_BAD), in shared memory so that the
        # DataLoader workers started from this process write to the same record.
        self._source_states: Optional[torch.Tensor] = None
        self._judged_once = False  # this process has seen the judging threshold reached
        self._rank, self._world_size = 0, 1

    def _parse_line(self, text: str) -> dict:
        raise NotImplementedError

    def _source_identity(self, info: dict) -> Hashable:
        """What makes two entries the same source (a bad one is bad for both)."""
        return info[self.source_key]

    def load_data_list(self) -> List[dict]:
        """Load the annotation file; raise one AnnotationError naming every bad line.

        Besides malformed lines, a source listed twice with different labels is an error
        (one of the labels would be silently wrong); listed twice with the same label it
        is kept (MMAction2 does: it is drawn twice as often) and reported in a warning.
        """
        if not exists(self.ann_file):
            raise FileNotFoundError(f'annotation file {self.ann_file} not found')
        lines = list(read_annotation(self.ann_file, self._parse_line))
        bad = [line for line in lines if line.error is not None]
        prefix = self.data_prefix.get(self.prefix_key)
        data_list, first_of, repeats = [], {}, []
        for line in lines:
            if line.error is not None:
                continue
            info = dict(line.info, ann_lineno=line.lineno)
            if prefix is not None:
                info[self.source_key] = osp.join(prefix, info[self.source_key])
            identity = self._source_identity(line.info)
            first = first_of.setdefault(identity, (len(first_of), line))[1]
            if first is not line:
                if first.info['label'] != line.info['label']:
                    bad.append(AnnotationLine(
                        line.lineno, line.text, None,
                        f'listed on line {first.lineno} with label {first.info["label"]}, '
                        f'here with label {line.info["label"]} (one source, one label; '
                        'set multi_class=True for multi-label data)'))
                    continue
                repeats.append((line.lineno, first.lineno))
            info['source_index'] = first_of[identity][0]
            data_list.append(info)
        if bad:
            bad.sort(key=lambda line: line.lineno)
            raise AnnotationError(f'{len(bad)} bad line(s) in annotation file {self.ann_file}:'
                                  f'\n{format_annotation_errors(self.ann_file, bad)}')
        if repeats:
            shown = ', '.join(f'line {line} repeats line {first}' for line, first in repeats[:5])
            MMLogger.get_current_instance().warning(
                f'{self.ann_file}: {len(repeats)} line(s) repeat an earlier entry ({shown}'
                f'{", ..." if len(repeats) > 5 else ""}); each listing is a sample of its own, '
                'so those sources are drawn more often')
        if self.skip_bad_samples and not self.test_mode:
            self._source_states = torch.zeros(len(first_of), dtype=torch.uint8).share_memory_()
            self._rank, self._world_size = get_dist_info()
        return data_list

    @property
    def skip_counts(self) -> SkipCounts:
        """Distinct sources tried and found bad by this rank's loading processes, and listed."""
        states = self._source_states
        if states is None:
            return SkipCounts(0, 0, 0)
        untried, _, bad = torch.bincount(states, minlength=3).tolist()
        return SkipCounts(len(states) - untried, bad, len(states))

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
                summary = exception_summary(exc)
                hint = next((f'; {why}' for known, why in _DECODER_HINTS.items()
                             if known in summary), None)
                if hint is None:
                    hint = ('; the file is corrupt, truncated or not a video'
                            if name.endswith(('Init', 'Decode')) else '')
                raise _SampleProblem(f'{name} failed: {summary}{hint}') from exc
            if results is None:
                return None
            _check_loading_state(results, self.allow_short_videos)
        return results

    def prepare_data(self, idx: int):
        """The idx-th sample through the pipeline, or None when the skip policy drops it.

        Raises:
            BadSampleError: the sample is bad and skipping is off (or this is a test set).
            SkipLimitError: skipping is on and too many distinct sources were bad.
        """
        if not faulthandler.is_enabled():
            faulthandler.enable()
        data_info = self.get_data_info(idx)
        skipping = self._source_states is not None
        source = data_info['source_index']
        if skipping and self._source_states[source] == _BAD:
            return None  # known bad: not decoded again, not counted again
        location = self._location(data_info)
        try:
            results = _call_labelled(f'<loading {location}>', self._load, data_info)
        except _SampleProblem as exc:
            error = BadSampleError(location, str(exc))
            if not skipping:
                raise error from exc.__cause__
            self._record(source, error)
            return None
        if skipping:
            self._record(source, None)
        return results

    def _record(self, source: int, error: Optional[BadSampleError]) -> None:
        """Mark a source good or bad, log a new bad one, and judge the limit when due."""
        states = self._source_states
        previous, state = int(states[source]), _GOOD if error is None else _BAD
        if previous == state:
            return
        states[source] = state
        if error is None and self._judged_once:
            return  # past the threshold the fraction can only rise at a bad source
        counts = self.skip_counts
        if error is not None:
            MMLogger.get_current_instance().warning(
                f'Skipped bad sample ({counts.bad} of {counts.tried} distinct '
                f'{self.source_noun} tried by {self._scope()} bad so far): {error}')
        if counts.tried < min(self.skip_limit_min_seen, counts.listed):
            return
        self._judged_once = True
        fraction = counts.bad / counts.tried
        if fraction > self.max_skip_fraction:
            last = f' Last: {error}.' if error is not None else ''
            raise SkipLimitError(
                f'{counts.bad} of {counts.tried} distinct {self.source_noun} bad '
                f'({fraction:.1%}), more than max_skip_fraction={self.max_skip_fraction}: '
                f'counted over the {self.source_noun} that {self._scope()} tried '
                f'({counts.tried} of the {counts.listed} listed in {self.ann_file}), each '
                f'bad one once however often it was drawn.{last} '
                f'List them all with: r21d-check-dataset {self.ann_file} '
                f'{self.data_prefix.get(self.prefix_key) or "."}{self._check_options()} '
                '(from a checkout: python tools/check_dataset.py, same arguments)')

    def _scope(self) -> str:
        """Whose loading processes share the skip record, for messages."""
        where = 'the loading processes' if get_worker_info() is None else 'the DataLoader workers'
        if self._world_size > 1:
            return f'{where} of rank {self._rank} (of {self._world_size})'
        return f'{where} of this run'

    def _check_options(self) -> str:
        """r21d-check-dataset options for this dataset's kind of annotation."""
        return ''



_ROBUST_ARGS = """
        skip_bad_samples (bool): Replace a bad training sample by a random other one (logged
            and counted) instead of raising. Never applies in test mode, where a replaced
            sample would change the metric. Defaults to False.
        max_skip_fraction (float): With ``skip_bad_samples``, stop with SkipLimitError once
            more than this fraction of the distinct sources (files, or frame directories)
            tried were bad; each bad source counts once, however often it was drawn.
            Defaults to 0.01.
        skip_limit_min_seen (int): Distinct sources that must have been tried before the
            fraction is judged (or all those listed, if fewer). Defaults to 100.
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
    source_noun = 'files'

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
    source_noun = 'frame directories'

    def __init__(self, *args, skip_bad_samples: bool = False, max_skip_fraction: float = 0.01,
                 skip_limit_min_seen: int = 100, allow_short_videos: bool = False,
                 **kwargs) -> None:
        self._init_robustness(skip_bad_samples, max_skip_fraction, skip_limit_min_seen,
                              allow_short_videos)
        super().__init__(*args, **kwargs)

    def _parse_line(self, text: str) -> dict:
        return parse_rawframe_line(text, self.with_offset, self.multi_class, self.num_classes,
                                   require_label=not self.test_mode)

    def _source_identity(self, info: dict) -> Hashable:
        # Segments of one directory (with_offset) are separate sources.
        return info['frame_dir'], info.get('offset', 0), info['total_frames']

    def _check_options(self) -> str:
        return (f' --rawframes --modality {self.modality} --filename-tmpl '
                f'{self.filename_tmpl!r} --start-index {self.start_index}'
                + (' --with-offset' if self.with_offset else ''))

    def _check_source(self, data_info: dict) -> None:
        frame_dir = data_info['frame_dir']
        if '://' not in frame_dir and not osp.isdir(frame_dir):
            raise _SampleProblem('frame directory not found')


__all__ = [
    'AnnotationError', 'AnnotationLine', 'BadSampleError', 'SkipLimitError', 'SkipCounts',
    'RobustVideoDataset', 'RobustRawframeDataset', 'parse_video_line', 'parse_rawframe_line',
    'read_annotation', 'format_annotation_errors', 'local_file_problem', 'exception_summary',
    'shortest_clip_span',
]
