"""Sports-1M annotation files for MMAction2's ``VideoDataset``, from the official splits.

Sports-1M (Karpathy et al., CVPR 2014) is distributed as lists of YouTube videos, not as
videos, in two formats (https://github.com/gtoderici/sports-1m-dataset and the project
page's ``sports1m_json.zip``):

* partition text files (``original/train_partition.txt``, ``original/test_partition.txt``,
  also gzip-compressed), one video per line: ``<YouTube URL> <comma-separated labels>``,
  e.g. ``https://www.youtube.com/watch?v=UDqivjS-lpI 168,169``;
* JSON files (``sports1m_train.json``, ``sports1m_test.json``): a list of objects with the
  YouTube ``id`` and the labels ``label487`` (other keys, e.g. ``duration``, are ignored);
* ``labels.txt``: the 487 class names, line i naming label i.

About 5% of the videos carry several labels. The paper trains with a softmax over 487
classes, so each annotation line needs one label; the rule is explicit (``multi_label``):
``'first'`` (default) keeps the first label listed, ``'duplicate'`` writes one line per
label (as the official cross-validation files do; a test video then counts once per label).

Videos are looked up by YouTube id under a download directory (any layout, any container),
and those missing are listed instead of silently written.
"""
import gzip
import json
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlparse

from tqdm import tqdm

from ..annotations import is_video_file

NUM_CLASSES = 487
MULTI_LABEL_RULES = ('first', 'duplicate')
#: Malformed entries shown in one Sports1MFormatError; the rest are counted.
MAX_REPORTED_ERRORS = 20

_YOUTUBE_ID = re.compile(r'^[A-Za-z0-9_-]{11}$')


class Sports1MFormatError(ValueError):
    """A Sports-1M split or label file has malformed entries (each named file:line)."""


@dataclass
class Sports1MVideo:
    """One video of a split: its YouTube id, labels, and where it was read."""

    youtube_id: str
    labels: List[int]
    source: str  # 'file:line' (text) or 'file: entry N' (JSON)


@dataclass
class SplitSummary:
    """What was written for one split."""

    name: str
    ann_file: str
    videos: int = 0
    lines: int = 0
    multi_label: int = 0
    repeated: int = 0
    missing: int = 0
    missing_file: Optional[str] = None
    warnings: List[str] = field(default_factory=list)


def _open_text(path: str):
    return gzip.open(path, 'rt', encoding='utf-8') if path.endswith('.gz') \
        else open(path, encoding='utf-8')


def _raise_if_errors(path: str, errors: List[str]) -> None:
    if not errors:
        return
    shown = errors[:MAX_REPORTED_ERRORS]
    more = len(errors) - len(shown)
    tail = f'\n... and {more} more' if more else ''
    entries = 'entry' if len(errors) == 1 else 'entries'
    raise Sports1MFormatError(f'{len(errors)} malformed {entries} in {path}:\n'
                              + '\n'.join(shown) + tail)


def youtube_id(url_or_id: str) -> Optional[str]:
    """The 11-character YouTube id of a watch URL, a youtu.be URL or a bare id, or None."""
    if _YOUTUBE_ID.match(url_or_id):
        return url_or_id
    parsed = urlparse(url_or_id)
    host = parsed.netloc.lower()
    if host.endswith('youtu.be'):
        candidate = parsed.path.lstrip('/')
    elif 'youtube.' in host:
        candidate = parse_qs(parsed.query).get('v', [''])[0]
    else:
        return None
    return candidate if _YOUTUBE_ID.match(candidate) else None


def parse_labels(text: str, num_classes: int = NUM_CLASSES) -> List[int]:
    """``'168,169'`` -> ``[168, 169]``; raises ValueError naming the bad label."""
    labels = []
    for token in text.split(','):
        token = token.strip()
        if not token.isdigit():
            raise ValueError(f'label {token!r} is not a non-negative integer')
        label = int(token)
        if label >= num_classes:
            raise ValueError(f'label {label} is out of range 0..{num_classes - 1}')
        labels.append(label)
    return labels


def read_labels(path: str, num_classes: int = NUM_CLASSES) -> List[str]:
    """The class names of ``labels.txt`` (line i names label i); checks their number."""
    with _open_text(path) as f:
        names = [line.strip() for line in f]
    while names and not names[-1]:
        names.pop()
    errors = [f'{path}:{i}: empty class name' for i, name in enumerate(names, 1) if not name]
    if len(names) != num_classes:
        errors.append(f'{path}: {len(names)} class names, expected {num_classes}')
    _raise_if_errors(path, errors)
    return names


def _read_text_partition(path: str, num_classes: int) -> List[Sports1MVideo]:
    videos, errors = [], []
    with _open_text(path) as f:
        for lineno, line in enumerate(tqdm(f, desc=osp.basename(path), unit=' lines',
                                           leave=False), 1):
            fields = line.split()
            if not fields:
                continue
            where = f'{path}:{lineno}'
            if len(fields) != 2:
                errors.append(f'{where}: expected "<YouTube URL> <label,label,...>", got '
                              f'{line.strip()!r}')
                continue
            video_id = youtube_id(fields[0])
            if video_id is None:
                errors.append(f'{where}: no YouTube video id in {fields[0]!r}')
                continue
            try:
                labels = parse_labels(fields[1], num_classes)
            except ValueError as e:
                errors.append(f'{where}: {e}')
                continue
            videos.append(Sports1MVideo(video_id, labels, where))
    _raise_if_errors(path, errors)
    return videos


def _read_json_partition(path: str, num_classes: int) -> List[Sports1MVideo]:
    with _open_text(path) as f:
        try:
            entries = json.load(f)
        except json.JSONDecodeError as e:
            raise Sports1MFormatError(f'{path}:{e.lineno}: invalid JSON ({e.msg})') from e
    if not isinstance(entries, list):
        raise Sports1MFormatError(f'{path}: expected a JSON list of videos, got '
                                  f'{type(entries).__name__}')
    videos, errors = [], []
    for index, entry in enumerate(entries):
        where = f'{path}: entry {index}'
        if not isinstance(entry, dict) or 'id' not in entry or 'label487' not in entry:
            errors.append(f'{where}: expected an object with "id" and "label487", got '
                          f'{str(entry)[:80]}')
            continue
        video_id = youtube_id(str(entry['id']))
        labels = entry['label487']
        if video_id is None:
            errors.append(f'{where}: invalid YouTube id {entry["id"]!r}')
        elif not isinstance(labels, list) or not labels or not all(
                isinstance(label, int) and not isinstance(label, bool)
                and 0 <= label < num_classes for label in labels):
            errors.append(f'{where} (id {video_id}): "label487" must be a non-empty list of '
                          f'integers in 0..{num_classes - 1}, got {labels!r}')
        else:
            videos.append(Sports1MVideo(video_id, list(labels), where))
    _raise_if_errors(path, errors)
    return videos


def read_partition(path: str, num_classes: int = NUM_CLASSES) -> List[Sports1MVideo]:
    """The videos of a split file: partition text (``.txt``) or JSON (``.json``), either
    optionally gzip-compressed. Raises Sports1MFormatError naming every malformed entry."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Sports-1M split file {path} not found')
    stem = path[:-3] if path.endswith('.gz') else path
    if stem.endswith('.json'):
        return _read_json_partition(path, num_classes)
    return _read_text_partition(path, num_classes)


def merge_repeated(videos: Iterable[Sports1MVideo]) -> Tuple[List[Sports1MVideo], int]:
    """One entry per video, in first-seen order, labels merged (first listed first).

    Returns the merged videos and how many entries repeated an earlier video.
    """
    merged: Dict[str, Sports1MVideo] = {}
    repeated = 0
    for video in videos:
        if video.youtube_id in merged:
            repeated += 1
            kept = merged[video.youtube_id]
            kept.labels.extend(label for label in video.labels if label not in kept.labels)
        else:
            merged[video.youtube_id] = Sports1MVideo(video.youtube_id, list(video.labels),
                                                     video.source)
    return list(merged.values()), repeated


def index_videos(video_dir: str) -> Dict[str, str]:
    """YouTube id -> path relative to ``video_dir`` of every video file below it.

    The id is the file name without extension (how downloaders name them). When one id has
    several files, the first in sorted order is kept.
    """
    if not osp.isdir(video_dir):
        raise FileNotFoundError(f'video directory {video_dir} not found')
    found: Dict[str, str] = {}
    for root, dirs, files in tqdm(os.walk(video_dir), desc=f'indexing {video_dir}',
                                  unit=' dirs', leave=False):
        dirs.sort()
        for name in sorted(files):
            stem, ext = osp.splitext(name)
            if is_video_file(name) and stem not in found:
                found[stem] = osp.relpath(osp.join(root, name), video_dir)
    return found


def annotation_lines(videos: Sequence[Sports1MVideo], multi_label: str = 'first',
                     video_paths: Optional[Dict[str, str]] = None,
                     ext: str = '.mp4') -> Tuple[List[str], List[Sports1MVideo]]:
    """``VideoDataset`` lines (``<video path> <label>``) and the videos without a file.

    Args:
        videos: the videos of a split.
        multi_label: ``'first'`` (one line with the first label) or ``'duplicate'`` (one
            line per label).
        video_paths: YouTube id -> relative path (``index_videos``); ``None`` writes
            ``<id><ext>`` for every video without checking that it exists.
        ext: file extension used when ``video_paths`` is None.
    """
    if multi_label not in MULTI_LABEL_RULES:
        raise ValueError(f'multi_label must be one of {MULTI_LABEL_RULES}, got '
                         f'{multi_label!r}')
    lines, missing = [], []
    for video in videos:
        if video_paths is None:
            path = video.youtube_id + ext
        elif video.youtube_id in video_paths:
            path = video_paths[video.youtube_id]
        else:
            missing.append(video)
            continue
        if ' ' in path:
            raise ValueError(f'{video.source}: the file {path!r} has a space in its path, '
                             'which VideoDataset annotation lines cannot hold; rename it')
        labels = video.labels[:1] if multi_label == 'first' else video.labels
        lines.extend(f'{path} {label}' for label in labels)
    return lines, missing


def build_annotations(out_dir: str, train: Optional[str] = None, test: Optional[str] = None,
                      labels: Optional[str] = None, video_dir: Optional[str] = None,
                      multi_label: str = 'first', ext: str = '.mp4',
                      prefix: str = 'sports1m') -> List[SplitSummary]:
    """Write ``{prefix}_{train,test}_list_videos.txt`` (and the label map) into ``out_dir``.

    Args:
        out_dir: where the annotation files go (the configs expect ``data/sports1m``).
        train, test: split files (partition text or JSON, optionally ``.gz``).
        labels: ``labels.txt``; when given it is checked and copied as
            ``{prefix}_label_map.txt``.
        video_dir: the downloaded videos (the configs' ``data_root``); paths are written
            relative to it and videos without a file are left out and listed in
            ``{prefix}_{split}_missing.txt``. ``None`` writes ``<id><ext>`` unchecked.
        multi_label: ``'first'`` or ``'duplicate'`` (module docstring).
        ext: extension of the unchecked paths (without ``video_dir``).
        prefix: file name prefix.

    Returns:
        one SplitSummary per split written.
    """
    if multi_label not in MULTI_LABEL_RULES:
        raise ValueError(f'multi_label must be one of {MULTI_LABEL_RULES}, got '
                         f'{multi_label!r}')
    splits = [(name, path) for name, path in (('train', train), ('test', test)) if path]
    if not splits:
        raise ValueError('give at least one split file (train or test)')
    if not ext.startswith('.'):
        ext = '.' + ext
    class_names = read_labels(labels) if labels else None
    split_videos = {name: read_partition(path) for name, path in splits}
    video_paths = index_videos(video_dir) if video_dir else None

    os.makedirs(out_dir, exist_ok=True)
    summaries = []
    for name, _ in splits:
        videos, repeated = merge_repeated(split_videos[name])
        lines, missing = annotation_lines(videos, multi_label, video_paths, ext)
        summary = SplitSummary(
            name=name, ann_file=osp.join(out_dir, f'{prefix}_{name}_list_videos.txt'),
            videos=len(videos) - len(missing), lines=len(lines),
            multi_label=sum(len(v.labels) > 1 for v in videos), repeated=repeated,
            missing=len(missing))
        if repeated:
            summary.warnings.append(f'{repeated} entries repeated an earlier video; their '
                                    'labels were merged')
        if missing:
            summary.missing_file = osp.join(out_dir, f'{prefix}_{name}_missing.txt')
            with open(summary.missing_file, 'w') as f:
                f.writelines(f'{v.youtube_id} {v.source}\n' for v in missing)
        with open(summary.ann_file, 'w') as f:
            f.writelines(line + '\n' for line in lines)
        summaries.append(summary)
    if len(splits) == 2:
        overlap = ({v.youtube_id for v in split_videos['train']}
                   & {v.youtube_id for v in split_videos['test']})
        if overlap:
            summaries[-1].warnings.append(
                f'{len(overlap)} test videos are also in the training split (e.g. '
                f'{sorted(overlap)[0]})')
    if class_names is not None:
        with open(osp.join(out_dir, f'{prefix}_label_map.txt'), 'w') as f:
            f.writelines(name + '\n' for name in class_names)
    return summaries
