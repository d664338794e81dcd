"""The embedded motion dataset: classes that only motion tells apart.

Every video shows one textured object on a textured background. The eight classes come in
four pairs, and the second class of a pair is exactly the first one played backwards:

====  ============================  =================================
pair  forward class                 its time reversal
====  ============================  =================================
0     ``move_right``                ``move_left``
1     ``move_down``                 ``move_up``
2     ``rotate_clockwise``          ``rotate_counterclockwise``
3     ``approach`` (grows)          ``recede`` (shrinks)
====  ============================  =================================

Appearance (textures, colours, shape, size), start position and speed are drawn at random
for each video, and a reversed clip is built from the very same draws, so the *set* of
frames of a ``move_left`` video is the set of frames of a ``move_right`` video. A network
blind to frame order (f-R2D) can learn which pair a video belongs to (the axis of motion is
visible in where the object appears) but not its direction: at best 50% within each pair.
A network with temporal convolutions (R3D, R(2+1)D) can do better. That is the paper's
central contrast, shown in minutes on a CPU.

Videos are real MPEG-4 files (OpenCV ``mp4v``) read by MMAction2's ``VideoDataset`` with
decord; annotation files are MMAction2's ``<relative path> <label>`` lines. Everything is a
function of the seed: the same seed gives byte-identical files.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass, replace
from typing import Dict, Iterator, Optional, Tuple

import cv2
import numpy as np

#: Class names by label. Label ``2k`` is a forward motion, ``2k + 1`` its time reversal.
MOTION_CLASSES: Tuple[str, ...] = (
    'move_right', 'move_left', 'move_down', 'move_up', 'rotate_clockwise',
    'rotate_counterclockwise', 'approach', 'recede')
#: The motion of each pair of classes.
MOTION_KINDS: Tuple[str, ...] = ('horizontal', 'vertical', 'rotation', 'scale')
SPLITS: Tuple[str, ...] = ('train', 'val', 'test')

ANNOTATION_FILE = '{split}.txt'
CLASSES_FILE = 'classes.txt'
META_FILE = 'meta.json'
VIDEO_FOURCC = 'mp4v'

# Ranges of the random draws (uniform), relative to the frame size where they are lengths.
OBJECT_RADIUS = (0.2, 0.3)  # of the frame size
TRANSLATION_SPEED = (0.02, 0.04)  # frame sizes per frame (paths stay inside the frame)
ROTATION_SPEED = (5.0, 10.0)  # degrees per frame
SMALLEST_SCALE = (0.5, 0.7)
SCALE_GROWTH = (1.8, 2.5)  # largest / smallest scale over the video


@dataclass(frozen=True)
class MotionDatasetSize:
    """How big a generated dataset is.

    Args:
        frame_size (int): frames are ``frame_size x frame_size`` pixels.
        num_frames (int): frames per video.
        videos_per_class (dict): videos of each class in each split.
        fps (int): frame rate written into the files.
    """

    frame_size: int
    num_frames: int
    videos_per_class: Dict[str, int]
    fps: int = 16


#: ``demo``: what ``tools/demo.py`` trains on (1216 videos of 32 x 32 pixels, small enough
#: for 2 CPU cores to train on in minutes); ``test``: tiny, for unit tests.
MOTION_DATASET_SIZES: Dict[str, MotionDatasetSize] = {
    'demo': MotionDatasetSize(
        frame_size=32, num_frames=32, videos_per_class=dict(train=128, val=8, test=16)),
    'test': MotionDatasetSize(
        frame_size=32, num_frames=24, videos_per_class=dict(train=2, val=1, test=1)),
}


@dataclass(frozen=True)
class MotionClip:
    """Everything needed to render one video; ``render_clip`` draws it.

    The per-frame pose arrays (``centers`` (T, 2) in pixels, ``angles`` (T,) in degrees,
    clockwise on screen, ``scales`` (T,)) describe the forward motion of the pair;
    ``reverse`` plays them backwards.
    """

    label: int
    background: np.ndarray  # (H, W, 3) uint8 RGB
    sprite: np.ndarray  # (S, S, 3) uint8 RGB
    sprite_mask: np.ndarray  # (S, S) float32 in [0, 1]
    centers: np.ndarray
    angles: np.ndarray
    scales: np.ndarray
    reverse: bool

    def time_reversed(self) -> 'MotionClip':
        """The same video played backwards: the other class of the pair."""
        return replace(self, label=self.label ^ 1, reverse=not self.reverse)


def _smooth_texture(rng: np.random.Generator, size: int, cells: int,
                    palette: np.ndarray) -> np.ndarray:
    """Smooth random noise (``cells`` x ``cells`` control points) mapped onto 2 colours."""
    coarse = rng.random((cells, cells), dtype=np.float32)
    field = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    field += 0.15 * rng.standard_normal((size, size), dtype=np.float32)
    field = np.clip(field, 0.0, 1.0)[..., None]
    texture = palette[0] * (1.0 - field) + palette[1] * field
    return np.clip(texture, 0, 255).astype(np.uint8)


def _palette(rng: np.random.Generator, bright: bool) -> np.ndarray:
    """Two random RGB colours, both bright (145..255) or both dark (0..110)."""
    low, high = (145, 256) if bright else (0, 111)
    return rng.integers(low, high, size=(2, 3)).astype(np.float32)


def _sprite_mask(rng: np.random.Generator, sprite_size: int) -> np.ndarray:
    """A random shape (ellipse, rectangle or triangle) filling most of the sprite."""
    mask = np.zeros((sprite_size, sprite_size), np.uint8)
    centre = sprite_size / 2.0
    radius = sprite_size / 2.0 * rng.uniform(0.55, 0.7)
    shape = rng.integers(3)
    if shape == 0:
        axes = (int(radius), int(radius * rng.uniform(0.6, 1.0)))
        cv2.ellipse(mask, (int(centre), int(centre)), axes, 0, 0, 360, 255, -1,
                    cv2.LINE_AA)
    else:
        corners = 4 if shape == 1 else 3
        start = rng.uniform(0, 2 * np.pi)
        angles = start + np.arange(corners) * 2 * np.pi / corners
        points = np.stack([centre + radius * np.cos(angles),
                           centre + radius * np.sin(angles)], axis=1)
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255, cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def sample_motion_clip(rng: np.random.Generator, label: int, frame_size: int,
                       num_frames: int) -> MotionClip:
    """Draw the appearance and the motion of one video of class ``label``.

    The forward motion of the pair is drawn, then reversed for odd labels, so both
    classes of a pair share one distribution of frames.
    """
    if not 0 <= label < len(MOTION_CLASSES):
        raise ValueError(f'label must be in [0, {len(MOTION_CLASSES)}), got {label}')
    if frame_size < 16 or num_frames < 2:
        raise ValueError(f'frames must be at least 16 px and videos at least 2 frames, '
                         f'got frame_size={frame_size}, num_frames={num_frames}')
    kind = MOTION_KINDS[label // 2]
    bright_background = bool(rng.integers(2))
    background = _smooth_texture(rng, frame_size, int(rng.integers(3, 7)),
                                 _palette(rng, bright_background))
    radius = frame_size * rng.uniform(*OBJECT_RADIUS)
    sprite_size = int(np.ceil(2 * radius))
    sprite = _smooth_texture(rng, sprite_size, int(rng.integers(3, 6)),
                             _palette(rng, not bright_background))
    sprite_mask = _sprite_mask(rng, sprite_size)

    steps = np.arange(num_frames, dtype=np.float64)
    angles = np.full(num_frames, rng.uniform(0, 360))
    scales = np.ones(num_frames)
    centre = rng.uniform(radius, frame_size - radius, size=2)
    centers = np.repeat(centre[None], num_frames, axis=0)
    if kind in ('horizontal', 'vertical'):
        axis = 0 if kind == 'horizontal' else 1
        speed = frame_size * rng.uniform(*TRANSLATION_SPEED)  # pixels per frame
        # The whole path stays inside the frame (the object may touch the border).
        path = min(speed * (num_frames - 1), frame_size - radius)
        start = radius / 2 + rng.random() * max(frame_size - radius - path, 0.0)
        centers[:, axis] = start + path * steps / (num_frames - 1)
    elif kind == 'rotation':
        angles = angles + rng.uniform(*ROTATION_SPEED) * steps  # clockwise on screen
    else:
        smallest = rng.uniform(*SMALLEST_SCALE)
        growth = rng.uniform(*SCALE_GROWTH)
        scales = smallest * growth**(steps / (num_frames - 1))
    return MotionClip(label=label, background=background, sprite=sprite,
                      sprite_mask=sprite_mask, centers=centers, angles=angles,
                      scales=scales, reverse=bool(label % 2))


def render_clip(clip: MotionClip) -> np.ndarray:
    """The frames of a clip, (T, H, W, 3) uint8 RGB."""
    order = slice(None, None, -1) if clip.reverse else slice(None)
    height, width = clip.background.shape[:2]
    half = clip.sprite.shape[0] / 2.0
    background = clip.background.astype(np.float32)
    sprite = clip.sprite.astype(np.float32)
    frames = []
    for (cx, cy), angle, scale in zip(clip.centers[order], clip.angles[order],
                                      clip.scales[order]):
        # Sprite pixel (u, v) -> frame pixel: rotate and scale about the sprite centre,
        # then put the centre at (cx, cy). With y pointing down, a growing angle turns
        # clockwise on screen.
        theta = np.deg2rad(angle)
        cos, sin = scale * np.cos(theta), scale * np.sin(theta)
        matrix = np.array([[cos, -sin, cx - cos * half + sin * half],
                           [sin, cos, cy - sin * half - cos * half]])
        warped = cv2.warpAffine(sprite, matrix, (width, height), flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(clip.sprite_mask, matrix, (width, height),
                               flags=cv2.INTER_LINEAR)[..., None]
        frames.append(background * (1.0 - alpha) + warped * alpha)
    return np.clip(np.rint(np.stack(frames)), 0, 255).astype(np.uint8)


def write_video(frames: np.ndarray, path: str, fps: int) -> None:
    """Encode (T, H, W, 3) RGB frames as an MPEG-4 file."""
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*VIDEO_FOURCC), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {VIDEO_FOURCC!r} video to {path}: this '
                           f'OpenCV build lacks an MPEG-4 encoder (build {cv2.__version__})')
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def video_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of one video: independent of how many videos are written."""
    return np.random.default_rng([seed, SPLITS.index(split), index])


def iter_split(split: str, num_videos: int, seed: int, frame_size: int,
               num_frames: int) -> Iterator[Tuple[str, MotionClip]]:
    """``(relative path, clip)`` for each video of a split; labels cycle through classes."""
    for index in range(num_videos):
        label = index % len(MOTION_CLASSES)
        clip = sample_motion_clip(video_rng(seed, split, index), label, frame_size,
                                  num_frames)
        yield f'{split}/{index:05d}.mp4', clip


def _resolve_size(size: str, frame_size: Optional[int], num_frames: Optional[int],
                  videos_per_class: Optional[Dict[str, int]]) -> MotionDatasetSize:
    if size not in MOTION_DATASET_SIZES:
        raise KeyError(f'unknown size {size!r}; choose from {list(MOTION_DATASET_SIZES)}')
    preset = MOTION_DATASET_SIZES[size]
    counts = dict(preset.videos_per_class, **(videos_per_class or {}))
    unknown = set(counts) - set(SPLITS)
    if unknown:
        raise KeyError(f'unknown split(s) {sorted(unknown)}; the splits are {list(SPLITS)}')
    return replace(preset, frame_size=frame_size or preset.frame_size,
                   num_frames=num_frames or preset.num_frames, videos_per_class=counts)


def dataset_meta(size: MotionDatasetSize, seed: int) -> dict:
    """What ``meta.json`` records: enough to tell whether a folder holds this dataset."""
    return dict(classes=list(MOTION_CLASSES), seed=seed, frame_size=size.frame_size,
                num_frames=size.num_frames, videos_per_class=size.videos_per_class,
                fps=size.fps, fourcc=VIDEO_FOURCC,
                motion=dict(object_radius=OBJECT_RADIUS, translation_speed=TRANSLATION_SPEED,
                            rotation_speed=ROTATION_SPEED, smallest_scale=SMALLEST_SCALE,
                            scale_growth=SCALE_GROWTH))


def generate_motion_dataset(out_dir: str,
                            size: str = 'demo',
                            seed: int = 0,
                            frame_size: Optional[int] = None,
                            num_frames: Optional[int] = None,
                            videos_per_class: Optional[Dict[str, int]] = None,
                            progress: bool = True) -> Dict[str, str]:
    """Write the motion dataset: videos, ``{train,val,test}.txt``, ``classes.txt``, ``meta.json``.

    Args:
        out_dir (str): the dataset root (``data/motion`` by default in the configs).
        size (str): ``'demo'`` or ``'test'`` (see ``MOTION_DATASET_SIZES``).
        seed (int): everything written is a function of it.
        frame_size, num_frames (int, optional): override the size's values.
        videos_per_class (dict, optional): override some splits' counts, e.g.
            ``{'test': 3}``.
        progress (bool): show a tqdm bar.

    Returns:
        dict: split name -> annotation file path.
    """
    from tqdm import tqdm

    spec = _resolve_size(size, frame_size, num_frames, videos_per_class)
    total = sum(spec.videos_per_class.values()) * len(MOTION_CLASSES)
    annotation_files = {}
    with tqdm(total=total, desc=f'motion dataset -> {out_dir}', unit='video',
              disable=not progress) as bar:
        for split in SPLITS:
            os.makedirs(osp.join(out_dir, split), exist_ok=True)
            lines = []
            num_videos = spec.videos_per_class[split] * len(MOTION_CLASSES)
            for rel_path, clip in iter_split(split, num_videos, seed, spec.frame_size,
                                             spec.num_frames):
                write_video(render_clip(clip), osp.join(out_dir, rel_path), spec.fps)
                lines.append(f'{rel_path} {clip.label}\n')
                bar.update()
            annotation_files[split] = osp.join(out_dir, ANNOTATION_FILE.format(split=split))
            with open(annotation_files[split], 'w') as f:
                f.writelines(lines)
    with open(osp.join(out_dir, CLASSES_FILE), 'w') as f:
        f.writelines(f'{name}\n' for name in MOTION_CLASSES)
    # meta.json last: its presence means the dataset is complete.
    with open(osp.join(out_dir, META_FILE), 'w') as f:
        json.dump(dataset_meta(spec, seed), f, indent=2)
    return annotation_files


def read_dataset_meta(out_dir: str) -> Optional[dict]:
    """The ``meta.json`` of a complete dataset, or None."""
    path = osp.join(out_dir, META_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def ensure_motion_dataset(out_dir: str, size: str = 'demo', seed: int = 0,
                          progress: bool = True, **overrides) -> bool:
    """Generate the dataset unless ``out_dir`` already holds exactly it.

    A folder holding anything but this generator's files is left alone (an error): it may
    be someone's own data.

    Returns:
        bool: True if it was (re)generated.
    """
    spec = _resolve_size(size, overrides.get('frame_size'), overrides.get('num_frames'),
                         overrides.get('videos_per_class'))
    if read_dataset_meta(out_dir) == json.loads(json.dumps(dataset_meta(spec, seed))):
        return False
    ours = set(SPLITS) | {ANNOTATION_FILE.format(split=s) for s in SPLITS} | {
        CLASSES_FILE, META_FILE}
    foreign = sorted(set(os.listdir(out_dir)) - ours) if osp.isdir(out_dir) else []
    if foreign:
        raise FileExistsError(f'{out_dir} holds files that the motion dataset generator did '
                              f'not write ({foreign[:3]}...); choose another folder')
    generate_motion_dataset(out_dir, size=size, seed=seed, progress=progress, **overrides)
    return True

