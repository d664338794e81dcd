"""The videos of a feature extraction's SRC: a video, a folder, or an annotation file
(read by ``data.annotations``, as every tool reads it)."""
import os.path as osp
from dataclasses import dataclass
from pathlib import PurePath
from typing import List, Optional

from ...data.annotations import find_videos, is_video_file, read_video_list, shown_name

@dataclass(frozen=True)
class VideoJob:
    """One video of SRC: its name (path relative to SRC, as listed), the file, its line."""

    name: str
    path: str
    lineno: Optional[int] = None

    @property
    def shown(self) -> str:
        """Its name as text: a file name that is not UTF-8 (``os.fsdecode``'s surrogates)
        with its bad bytes escaped."""
        return shown_name(self.name)

    @property
    def features(self) -> str:
        """Its features file, relative to OUT."""
        return osp.splitext(self.name)[0] + '.npy'


def _annotation_jobs(ann_file: str, video_root: str) -> List[VideoJob]:
    entries = read_video_list(ann_file)
    escaping = [entry for entry in entries
                if osp.isabs(entry.path) or '..' in PurePath(entry.path).parts]
    if escaping:
        shown = '\n'.join(f'  {ann_file}:{entry.lineno}: {entry.path!r}'
                          for entry in escaping[:20])
        raise ValueError(f'{len(escaping)} video path(s) in {ann_file} would write features '
                         f'outside OUT (absolute, or with ".."); list them relative to '
                         f'--video-root:\n{shown}')
    return [VideoJob(osp.normpath(entry.path), osp.join(video_root, entry.path), entry.lineno)
            for entry in entries]


def list_videos(src: str, video_root: Optional[str] = None) -> List[VideoJob]:
    """The videos of SRC: a video file, a folder (searched recursively, sorted), or a
    ``VideoDataset`` annotation file (``<video> [<label>...]`` lines, paths relative to
    ``video_root``, default the annotation's folder). Listed twice: kept once.

    Raises:
        ValueError: no videos; a listed path would write outside OUT; two videos would
            write the same features file.
    """
    if osp.isdir(src):
        jobs = [VideoJob(entry.path, osp.join(src, entry.path)) for entry in find_videos(src)]
    elif osp.isfile(src) and is_video_file(src):
        jobs = [VideoJob(osp.basename(src), src)]
    elif osp.isfile(src):
        jobs = _annotation_jobs(src, video_root or osp.dirname(osp.abspath(src)))
    else:
        raise FileNotFoundError(f'{src}: no such video file, folder or annotation file')
    unique, owner = [], {}
    for job in jobs:
        other = owner.setdefault(job.features, job)
        if other is job:
            unique.append(job)
        elif other.name != job.name:
            where = f' (lines {other.lineno} and {job.lineno})' if job.lineno else ''
            raise ValueError(f'{src}: {other.name} and {job.name} would both write '
                             f'{job.features}{where}; rename one')
    if not unique:
        raise ValueError(f'{src}: no videos listed')
    return unique
