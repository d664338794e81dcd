"""Video accuracy against the number of test clips (the paper's Figure 5b).

The input is the per-clip softmax scores of a multi-clip test (``tools/test.py --dump``
with ``MultiClipRecognizer3D``). For n clips, the n are taken uniformly spaced among the
K clips tested (as a test with n clips would sample them) and their softmax averaged.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..safe_pickle import RefusedGlobal, load_pickle


class DumpError(ValueError):
    """A test dump cannot be read: not a ``.pkl``, unreadable, or it names code to run."""


def uniform_clip_subset(num_tested: int, num_clips: int) -> np.ndarray:
    """Indices of ``num_clips`` clips uniformly spaced among ``num_tested`` (sorted)."""
    if not 1 <= num_clips <= num_tested:
        raise ValueError(f'num_clips must be in [1, {num_tested}], got {num_clips}')
    return np.floor((np.arange(num_clips) + 0.5) * num_tested / num_clips).astype(int)


def accuracy_vs_num_clips(clip_scores: np.ndarray, labels: np.ndarray,
                          num_clips: Optional[Sequence[int]] = None) -> Dict[int, float]:
    """Video top-1 accuracy when each video is scored with n of its clips.

    Args:
        clip_scores (np.ndarray): (num_videos, K, num_classes) softmax scores.
        labels (np.ndarray): (num_videos,) ground-truth labels.
        num_clips (Sequence[int], optional): the n to evaluate; default 1..K.

    Returns:
        dict: n -> accuracy in [0, 1].
    """
    clip_scores = np.asarray(clip_scores)
    labels = np.asarray(labels)
    if clip_scores.ndim != 3 or len(clip_scores) != len(labels):
        raise ValueError(f'expected clip scores (videos, clips, classes) and one label per '
                         f'video, got {clip_scores.shape} and {labels.shape}')
    num_tested = clip_scores.shape[1]
    curve = {}
    for n in (num_clips or range(1, num_tested + 1)):
        video_scores = clip_scores[:, uniform_clip_subset(num_tested, n)].mean(axis=1)
        curve[int(n)] = float(np.mean(video_scores.argmax(axis=1) == labels))
    return curve


def load_test_dump(path: str) -> List[dict]:
    """The records of a ``tools/test.py --dump`` file, read without running code.

    The ``.pkl`` goes through the restricted unpickler (plain containers, numpy arrays,
    tensors). Other formats are refused: mmengine's YAML loader can construct arbitrary
    objects, and ``--dump`` writes ``.pkl`` only.

    Raises:
        DumpError: not a ``.pkl`` / ``.pickle`` file, missing, not a pickle, or it names a
            callable outside the allow-list (nothing is run).
    """
    if not path.endswith(('.pkl', '.pickle')):
        raise DumpError(f'{path}: not a .pkl test dump (r21d-test --dump writes .pkl; '
                        f'YAML and other formats are refused, as they can run code)')
    if not osp.isfile(path):
        raise DumpError(f'{path}: no such file')
    try:
        records = load_pickle(path, 'a test dump holds only numbers, strings, arrays and '
                                    'tensors in plain containers')
    except RefusedGlobal as error:
        raise DumpError(str(error)) from error
    except Exception as error:  # truncated or not a pickle at all
        raise DumpError(f'{path}: not a readable test dump ({type(error).__name__}: '
                        f'{error})') from error
    if not isinstance(records, list):
        raise DumpError(f'{path}: expected the list of records r21d-test --dump writes, '
                        f'got {type(records).__name__}')
    return records


def clip_scores_from_dump(records: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
    """``(clip_scores, labels)`` from the records of ``tools/test.py --dump``.

    Raises:
        DumpError: no records, records without per-clip scores (the model was not a
            ``MultiClipRecognizer3D``), or videos tested with different numbers of clips.
    """
    if not records:
        raise DumpError('the dump holds no test results')
    if not all(isinstance(r, dict) and 'clip_scores' in r and 'gt_label' in r
               for r in records):
        raise DumpError('the dump has no "clip_scores" for every video: test with model type '
                        'MultiClipRecognizer3D to keep per-clip scores')
    scores = [np.asarray(r['clip_scores'], dtype=np.float32) for r in records]
    shapes = {s.shape for s in scores}
    if len(shapes) != 1:
        raise DumpError(f'videos were tested with different numbers of clips: '
                        f'{sorted(shapes)}')
    labels = np.array([int(np.asarray(r['gt_label']).reshape(-1)[0]) for r in records])
    return np.stack(scores), labels


def plot_accuracy_vs_num_clips(curves: Dict[str, Dict[int, float]], out_file: str,
                               title: str = 'Video accuracy vs number of test clips') -> None:
    """Save a PNG of one or more curves (label -> {n: accuracy})."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    for name, curve in curves.items():
        ns = sorted(curve)
        ax.plot(ns, [100 * curve[n] for n in ns], marker='o', markersize=3, label=name)
    ax.set_xlabel('number of clips averaged per video')
    ax.set_ylabel('video@1 (%)')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)
