"""The one reader of annotation files and video folders, for every tool.

Training (``RobustVideoDataset`` / ``RobustRawframeDataset``), inference, feature extraction,
flow extraction and the dataset check all read annotation files here, so one list works in
every tool:

* blank lines and comment lines (first non-blank character ``#``) are skipped, and every
  other line keeps its 1-based number for messages (``ann_file:line: reason``);
* a video line is ``<video path><delimiter><label>[<delimiter><label>...]`` as MMAction2's
  ``VideoDataset`` reads it; a path may hold the delimiter (spaces) where its last part ends
  in a video extension (``VIDEO_EXTENSIONS``): ``my clip.mp4 3`` is ``my clip.mp4``, label 3;
* labels are ASCII integers (``int`` would also take ``'1_0'`` or other scripts' digits),
  optional where a tool does not need them (inference, features, flow);
* a line that is not UTF-8 text is an invalid line (its text shown with the bad bytes
  escaped), not an error for the whole file.

``find_videos`` lists a folder's videos (by extension, recursively, sorted).
"""
import os
import os.path as osp
import re
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from mmengine.fileio import get

#: Lines shown in one AnnotationError; the rest are counted.
MAX_REPORTED_LINES = 20
#: First character of a comment line in an annotation file.
COMMENT = '#'
#: File extensions read as videos (folders are searched for these; annotation paths with
#: spaces end in one of them).
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.mpg', '.mpeg', '.flv',
                    '.3gp')
#: An integer as annotation files write it: ASCII digits, optionally signed.
_INTEGER = re.compile(r'[-+]?[0-9]+')


class AnnotationError(ValueError):
    """An annotation file has malformed lines or labels out of range."""


class LineError(ValueError):
    """Why one annotation line is invalid (becomes ``ann_file:line: reason``)."""


@dataclass(frozen=True)
class AnnotationLine:
    """One non-blank line of an annotation file: the parsed sample, or why it is invalid."""

    lineno: int
    text: str
    info: Optional[dict]
    error: Optional[str]


def is_video_file(name: str) -> bool:
    """Whether ``name`` ends in one of ``VIDEO_EXTENSIONS`` (any case)."""
    return osp.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def _parse_labels(tokens: Sequence[str], multi_class: bool, num_classes: Optional[int],
                  require_label: bool):
    if not tokens:
        if require_label:
            raise LineError('no label (only test/inference sets may omit labels)')
        return [-1] if multi_class else -1
    if not multi_class and len(tokens) > 1:
        raise LineError(f'{len(tokens)} labels on a single-label line (set multi_class=True '
                        'for multi-label data, or check the delimiter)')
    labels = []
    for token in tokens:
        if not _INTEGER.fullmatch(token):
            raise LineError(f'label {token!r} is not an integer')
        label = int(token)
        if label < 0 or (num_classes is not None and label >= num_classes):
            valid = f'0..{num_classes - 1}' if num_classes is not None else '>= 0'
            raise LineError(f'label {label} is out of range ({valid})')
        labels.append(label)
    return labels if multi_class else labels[0]


def parse_video_line(text: str, delimiter: str = ' ', multi_class: bool = False,
                     num_classes: Optional[int] = None, require_label: bool = True) -> dict:
    """Parse ``<video path><delimiter><label>[<delimiter><label>...]`` as VideoDataset does.

    The path is the first field, or, where a later field ends in a video extension, every
    field up to the last such one (a path holding the delimiter).

    Raises:
        LineError: the line is malformed or a label is out of range.
    """
    tokens = text.strip().split(delimiter)
    if not tokens[0] or '' in tokens:
        raise LineError(f'expected "<video>{delimiter}<label>" with single delimiters '
                        f'{delimiter!r}')
    path_fields = 1 + max((index for index, token in enumerate(tokens[1:], 1)
                           if is_video_file(token)), default=0)
    return dict(filename=delimiter.join(tokens[:path_fields]),
                label=_parse_labels(tokens[path_fields:], multi_class, num_classes,
                                    require_label))


def parse_rawframe_line(text: str, with_offset: bool = False, multi_class: bool = False,
                        num_classes: Optional[int] = None, require_label: bool = True) -> dict:
    """Parse ``<frame dir> [<offset>] <total frames> <label>...`` as RawframeDataset does.

    Raises:
        LineError: the line is malformed, the frame count is not positive or a label is
            out of range.
    """
    tokens = text.split()
    counts = ['offset', 'total_frames'] if with_offset else ['total_frames']
    if len(tokens) < 1 + len(counts):
        raise LineError(f'expected "<frame dir> {" ".join(f"<{c}>" for c in counts)} <label>"')
    info = dict(frame_dir=tokens[0])
    for name, token in zip(counts, tokens[1:]):
        if not _INTEGER.fullmatch(token):
            raise LineError(f'{name} {token!r} is not an integer')
        info[name] = int(token)
    if info['total_frames'] <= 0:
        raise LineError(f'total_frames is {info["total_frames"]}; a sample needs frames')
    if info.get('offset', 0) < 0:
        raise LineError(f'offset {info["offset"]} is negative')
    info['label'] = _parse_labels(tokens[1 + len(counts):], multi_class, num_classes,
                                  require_label)
    return info


def _decode_line(raw: bytes) -> str:
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise LineError(f'not UTF-8 text (byte 0x{raw[exc.start]:02x} at column '
                        f'{exc.start + 1})') from None


def read_annotation(ann_file: str, parse_line: Callable[[str], dict],
                    backend_args: Optional[dict] = None) -> Iterator[AnnotationLine]:
    """Parse every line of ``ann_file`` that holds an entry, keeping its 1-based number.

    Blank lines and comment lines are skipped; an invalid line (not UTF-8, or refused by
    ``parse_line`` with a ``LineError``) is returned with its ``error``.
    """
    raw_lines = get(ann_file, backend_args=backend_args).splitlines()
    for lineno, raw in enumerate(raw_lines, 1):
        text = raw.decode('utf-8', errors='backslashreplace')
        if not text.strip() or text.lstrip().startswith(COMMENT):
            continue
        try:
            yield AnnotationLine(lineno, text, parse_line(_decode_line(raw)), None)
        except LineError as exc:
            yield AnnotationLine(lineno, text, None, str(exc))


def format_annotation_errors(ann_file: str, bad: Sequence[AnnotationLine]) -> str:
    """``ann_file:line: reason: 'text'`` for the first bad lines, and how many more there are."""
    shown = [f'  {ann_file}:{line.lineno}: {line.error}: {line.text.strip()!r}'
             for line in bad[:MAX_REPORTED_LINES]]
    if len(bad) > MAX_REPORTED_LINES:
        shown.append(f'  ... and {len(bad) - MAX_REPORTED_LINES} more')
    return '\n'.join(shown)


def annotation_error(ann_file: str, bad: Sequence[AnnotationLine]) -> AnnotationError:
    """One error naming every bad line of ``ann_file`` (in line order)."""
    bad = sorted(bad, key=lambda line: line.lineno)
    return AnnotationError(f'{len(bad)} bad line(s) in annotation file {ann_file}:\n'
                           f'{format_annotation_errors(ann_file, bad)}')


@dataclass(frozen=True)
class VideoListEntry:
    """One video of a list: its path as listed (relative to the video root), its labels
    (empty where the line gives none) and its line (None for a folder listing)."""

    path: str
    labels: Tuple[int, ...] = ()
    lineno: Optional[int] = None


def read_video_list(ann_file: str, delimiter: str = ' ') -> List[VideoListEntry]:
    """The videos of a ``VideoDataset`` annotation file, labels optional, in line order.

    Raises:
        AnnotationError: naming every bad line (a path without a video extension is one:
            a rawframes list, or a line split wrongly); or the file lists no video.
    """
    parse = partial(parse_video_line, delimiter=delimiter, multi_class=True,
                    require_label=False)
    lines = [line if line.error is not None or is_video_file(line.info['filename'])
             else AnnotationLine(line.lineno, line.text, None,
                                 f'expected "<video path>{delimiter}<label>...", the path '
                                 f'ending in one of {", ".join(VIDEO_EXTENSIONS)}')
             for line in read_annotation(ann_file, parse)]
    bad = [line for line in lines if line.error is not None]
    if bad:
        raise annotation_error(ann_file, bad)
    if not lines:
        raise AnnotationError(f'{ann_file}: no videos listed')
    return [VideoListEntry(line.info['filename'],
                           tuple(label for label in line.info['label'] if label >= 0),
                           line.lineno) for line in lines]


def shown_name(name: str) -> str:
    """A file name as printable UTF-8 text: the bytes of a name that are not UTF-8
    (``os.fsdecode`` keeps them as surrogates) shown as ``\\xff``."""
    return name.encode('utf-8', 'surrogateescape').decode('utf-8', 'backslashreplace')


def find_videos(video_root: str) -> List[VideoListEntry]:
    """Every video file under a folder (recursively), sorted, without labels.

    Raises:
        ValueError: the folder holds no video file.
    """
    paths = [osp.relpath(osp.join(dirpath, name), video_root)
             for dirpath, _, filenames in os.walk(video_root) for name in filenames
             if is_video_file(name)]
    if not paths:
        raise ValueError(f'{video_root}: no video files ({", ".join(VIDEO_EXTENSIONS)})')
    return [VideoListEntry(path) for path in sorted(paths)]


__all__ = ['AnnotationError', 'AnnotationLine', 'LineError', 'VIDEO_EXTENSIONS',
           'VideoListEntry', 'annotation_error', 'find_videos', 'format_annotation_errors',
           'is_video_file', 'parse_rawframe_line', 'parse_video_line', 'read_annotation',
           'read_video_list', 'shown_name']
