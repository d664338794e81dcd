"""What a command line names as videos: files, folders of videos, annotation files."""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from ..data.annotations import find_videos, read_video_list

#: Inputs read as MMAction2 ``VideoDataset`` annotation files.
ANNOTATION_EXTENSIONS = ('.txt', )


@dataclass(frozen=True)
class VideoItem:
    """One video to run: its path, its label where an annotation file gives one, and the
    input it came from."""

    path: str
    label: Optional[int] = None
    source: str = ''


def collect_videos(inputs: Sequence[str],
                   data_prefix: Optional[str] = None
                   ) -> Tuple[List[VideoItem], List[Tuple[str, str]]]:
    """Expand inputs into videos, in order.

    * a folder: every video file under it (by extension), sorted;
    * a ``.txt`` file: a ``VideoDataset`` annotation file, ``<video> [<label> ...]`` per
      line, read by ``data.annotations`` as every tool reads it (comments, blank lines,
      paths with spaces); paths are relative to ``data_prefix`` (default: the file's
      folder);
    * anything else: a video file (a missing or broken one fails when it is read).

    Returns:
        (videos, problems): the videos, and ``(input, reason)`` for each input that gave
        none (an empty folder, a malformed annotation file).
    """
    videos: List[VideoItem] = []
    problems: List[Tuple[str, str]] = []
    for item in inputs:
        try:
            if osp.isdir(item):
                videos.extend(VideoItem(osp.join(item, entry.path), source=item)
                              for entry in find_videos(item))
            elif item.lower().endswith(ANNOTATION_EXTENSIONS) and osp.isfile(item):
                root = data_prefix if data_prefix is not None else osp.dirname(item)
                videos.extend(VideoItem(osp.join(root, entry.path),
                                        entry.labels[0] if entry.labels else None, item)
                              for entry in read_video_list(item))
            else:
                videos.append(VideoItem(item, source=item))
        except (ValueError, OSError) as error:
            problems.append((item, str(error)))
    return videos, problems
