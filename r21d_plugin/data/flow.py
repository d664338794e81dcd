"""Optical flow for the flow stream: Farneback with the reference parameters, the rawframes
quantisation, and the pipeline transforms.

The paper (section 4.4) and its code (VMZ) compute Farneback flow on the fly, on grayscale
frames, after the clip has been resized, cropped and flipped: L+1 RGB frames give L flow
frames of 2 channels (dx, dy) in pixels. ``FarnebackFlow`` does exactly that inside an
MMAction2 pipeline. Offline flow (``tools/extract_flow.py``) is stored in MMAction2's
rawframes layout instead: one grayscale image per direction and frame, ``x_00001.jpg`` /
``y_00001.jpg``, with the flow clipped to +-20 pixels and mapped linearly onto 0..255.
``DequantizeFlow`` turns those images back into pixels and ``FlowFlip`` mirrors them with
the x component negated, so both sources feed the network the same float flow, normalised
by the data preprocessor with ``FLOW_MEAN`` / ``FLOW_STD``. ``LoadAlignedFlow`` reads the
stored flow of the very frames, crop and flip of an RGB clip, for a two-stream test on
offline flow.
"""
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.datasets.transforms import Flip
from mmaction.registry import TRANSFORMS

#: ``cv2.calcOpticalFlowFarneback`` arguments of the reference code (VMZ, paper section 4.4).
FARNEBACK_PARAMS = dict(
    pyr_scale=0.7071,
    levels=5,
    winsize=10,
    iterations=2,
    poly_n=7,
    poly_sigma=1.5,
    flags=cv2.OPTFLOW_FARNEBACK_GAUSSIAN)

#: Per-channel (dx, dy) mean and std of float Farneback flow, in pixels (VMZ). Flow
#: configs give them to ``ActionDataPreprocessor`` as ``mean`` / ``std``.
FLOW_MEAN = (0.0046635, 0.0046261)
FLOW_STD = (0.972347, 0.755146)

#: MMAction2 / denseflow rawframes: flow clipped to +-bound pixels, mapped onto 0..255.
FLOW_QUANT_BOUND = 20.0


def farneback_flow(prev_gray: np.ndarray, next_gray: np.ndarray) -> np.ndarray:
    """Dense flow from one grayscale uint8 frame to the next, (H, W, 2) float32 (dx, dy)."""
    return cv2.calcOpticalFlowFarneback(prev_gray, next_gray, None, **FARNEBACK_PARAMS)


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A decoded RGB frame (H, W, 3) as grayscale uint8 (H, W); grayscale passes through."""
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    raise ValueError(f'expected an RGB frame (H, W, 3) or a grayscale one (H, W), got shape '
                     f'{frame.shape}')


def frames_to_flow(frames: Sequence[np.ndarray]) -> List[np.ndarray]:
    """L+1 consecutive RGB (or grayscale) frames -> L flow frames (H, W, 2) float32."""
    if len(frames) < 2:
        raise ValueError(f'flow needs at least 2 frames, got {len(frames)}')
    grays = [to_gray(frame) for frame in frames]
    return [farneback_flow(prev, nxt) for prev, nxt in zip(grays[:-1], grays[1:])]


def quantize_flow(flow: np.ndarray, bound: float = FLOW_QUANT_BOUND) -> np.ndarray:
    """Float flow in pixels -> uint8 of the same shape: clip to +-bound, map onto 0..255.

    Rounded to the nearest level (a step is 2 * bound / 255 = 0.157 px for bound 20), so
    ``dequantize_flow`` is off by at most half a step inside the bound.
    """
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2 * bound))
    return np.rint(scaled).astype(np.uint8)


def dequantize_flow(quantized: np.ndarray, bound: float = FLOW_QUANT_BOUND) -> np.ndarray:
    """uint8 flow levels -> float32 pixels; the inverse of ``quantize_flow``."""
    return (quantized.astype(np.float32) * np.float32(2 * bound / 255.0)
            - np.float32(bound))


def _source_name(results: Dict) -> str:
    return str(results.get('filename', results.get('frame_dir', '<unnamed sample>')))


@TRANSFORMS.register_module()
class FarnebackFlow(BaseTransform):
    """Compute Farneback optical flow on the fly, as the reference code does.

    Place it after the spatial transforms (resize, crop, flip) that run on the RGB frames:
    flow computed on a mirrored clip already has its x component negated. The frame
    sampler must draw ``clip_len = L + 1`` consecutive frames per clip; each clip becomes
    L flow frames of shape (H, W, 2), float32 pixels (dx, dy), and ``clip_len`` becomes L,
    so ``FormatShape('NCTHW')`` gives (num_clips, 2, L, H, W).

    Required keys: ``imgs`` (RGB frames, clip after clip: num_clips * (L+1) of them, or
    num_crops times that after ``ThreeCrop`` / ``TenCrop``), ``num_clips``, ``clip_len``. Modified: ``imgs``, ``clip_len``, ``modality`` ('Flow'). Added with
    ``keep_rgb``: ``flow_imgs``.

    Args:
        keep_rgb (bool): keep the first L RGB frames of every clip in ``imgs`` and put the
            flow in ``flow_imgs``, so a two-stream model sees both streams over the same
            frames. Defaults to False (``imgs`` becomes the flow).
    """

    def __init__(self, keep_rgb: bool = False) -> None:
        self.keep_rgb = keep_rgb

    def transform(self, results: Dict) -> Dict:
        frames = results['imgs']
        num_clips, clip_len = results['num_clips'], results['clip_len']
        if clip_len < 2 or len(frames) % (num_clips * clip_len):
            raise ValueError(
                f'{_source_name(results)}: FarnebackFlow needs (crops x) num_clips x (L+1) '
                f'frames with L+1 >= 2 (the sampler\'s clip_len is L+1); got {len(frames)} '
                f'frames for num_clips={num_clips}, clip_len={clip_len}')
        rgb, flow = [], []
        for start in range(0, len(frames), clip_len):
            clip = frames[start:start + clip_len]
            flow.extend(frames_to_flow(clip))
            rgb.extend(clip[:-1])
        results['clip_len'] = clip_len - 1
        if self.keep_rgb:
            results['imgs'] = rgb
            results['flow_imgs'] = flow
        else:
            results['imgs'] = flow
            results['modality'] = 'Flow'
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keep_rgb={self.keep_rgb})'


@TRANSFORMS.register_module()
class DequantizeFlow(BaseTransform):
    """Turn rawframes flow (uint8 levels, after ``RawFrameDecode`` with modality 'Flow')
    back into float32 pixels, so a flow model sees the same input as with ``FarnebackFlow``.

    Required keys: ``imgs`` (frames of shape (H, W, 2), uint8). Modified: ``imgs``.

    Args:
        bound (float): the +-bound the flow was clipped to when it was stored (20 for
            ``tools/extract_flow.py``, denseflow and MMAction2's own extractor).
    """

    def __init__(self, bound: float = FLOW_QUANT_BOUND) -> None:
        self.bound = bound

    def transform(self, results: Dict) -> Dict:
        frames = results['imgs']
        if len(frames) and np.asarray(frames[0]).dtype != np.uint8:
            raise TypeError(f'{_source_name(results)}: DequantizeFlow expects uint8 flow '
                            f'images, got {np.asarray(frames[0]).dtype}')
        results['imgs'] = [dequantize_flow(frame, self.bound) for frame in frames]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(bound={self.bound})'


@TRANSFORMS.register_module()
class FlowFlip(Flip):
    """``Flip`` for flow frames of shape (H, W, 2) (``RawFrameDecode`` with modality 'Flow').

    Mirroring a flow field horizontally negates its x component. MMAction2's ``Flip`` assumes
    x and y stored as separate images (``ArrayDecode``) and inverts every other image, which
    for ``RawFrameDecode``'s stacked (H, W, 2) frames inverts both components of every other
    frame. Here each frame is mirrored and only its x channel is negated: ``-dx`` for float
    flow (after ``DequantizeFlow``), ``255 - x`` for uint8 levels (the levels are symmetric
    around zero flow). Takes ``Flip``'s arguments; only the horizontal direction.
    """

    def __init__(self, flip_ratio: float = 0.5, **kwargs) -> None:
        if kwargs.get('direction', 'horizontal') != 'horizontal':
            raise ValueError('FlowFlip only flips horizontally (a vertical flip would negate '
                             'dy); got direction={!r}'.format(kwargs['direction']))
        if kwargs.get('lazy', False):
            raise ValueError('FlowFlip cannot be lazy: Fuse would mirror without negating dx')
        super().__init__(flip_ratio=flip_ratio, **kwargs)

    def _flip_imgs(self, imgs: List[np.ndarray], modality: str) -> List[np.ndarray]:
        flipped = []
        for img in imgs:
            if img.ndim != 3 or img.shape[2] != 2:
                raise ValueError(f'FlowFlip expects (H, W, 2) flow frames, got shape '
                                 f'{img.shape}')
            img = mmcv.imflip(img, 'horizontal').copy()
            img[..., 0] = 255 - img[..., 0] if img.dtype == np.uint8 else -img[..., 0]
            flipped.append(img)
        return flipped



@TRANSFORMS.register_module()
class LoadAlignedFlow(BaseTransform):
    """Load the offline flow of an RGB clip's frames, aligned to its crop and flip.

    For a two-stream test on flow from ``tools/extract_flow.py``: placed after the RGB
    spatial transforms (resize, crop, flip; not lazy, one view per frame), it reads, for
    every sampled video frame t, the stored flow from t to t+1 (``x_/y_{t+1:05d}``; the
    last frame, which has none, takes the flow into it), dequantises it, crops the
    region the RGB crops kept (``crop_quadruple``), resizes it to the RGB clip's size with
    the vectors scaled by the same factors, and mirrors it with dx negated if the clip
    was flipped. The flow frames may be stored at any size.

    Required keys: ``filename`` (the video), ``frame_inds``, ``total_frames``,
    ``img_shape``; optional ``crop_quadruple``, ``flip``. Added: ``flow_imgs``, float32
    (H, W, 2) pixels of the RGB clip's frames.

    Args:
        video_root (str): the folder the dataset's video paths are relative to.
        flow_root (str): the extractor's output root (``OUT/<video without ext>/``).
        filename_tmpl (str): flow image names. Defaults to ``'{}_{:05d}.jpg'``.
        bound (float): quantisation bound of the stored flow. Defaults to 20.
    """

    def __init__(self, video_root: str, flow_root: str,
                 filename_tmpl: str = '{}_{:05d}.jpg',
                 bound: float = FLOW_QUANT_BOUND) -> None:
        self.video_root = video_root
        self.flow_root = flow_root
        self.filename_tmpl = filename_tmpl
        self.bound = bound

    def _flow_dir(self, video: str) -> str:
        rel = osp.relpath(video, self.video_root)
        if rel.startswith('..'):
            raise ValueError(f'{video} is not under video_root {self.video_root}')
        return osp.join(self.flow_root, osp.splitext(rel)[0])

    def _read(self, flow_dir: str, index: int) -> np.ndarray:
        channels = []
        for axis in 'xy':
            path = osp.join(flow_dir, self.filename_tmpl.format(axis, index))
            image = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise FileNotFoundError(f'{path}: missing or unreadable flow image (extract '
                                        f'the flow with r21d-extract-flow)')
            channels.append(image)
        return dequantize_flow(np.stack(channels, axis=-1), self.bound)

    def transform(self, results: Dict) -> Dict:
        video = results['filename']
        frame_inds = np.asarray(results['frame_inds']).reshape(-1)
        if results.get('lazy') or len(results['imgs']) != len(frame_inds):
            raise ValueError(f'{video}: LoadAlignedFlow needs one non-lazy view per sampled '
                             f'frame (no ThreeCrop / TenCrop, lazy=False)')
        flow_dir = self._flow_dir(video)
        last_flow = max(int(results['total_frames']) - 1, 1)
        out_h, out_w = results['img_shape']
        x, y, w, h = results.get('crop_quadruple', (0.0, 0.0, 1.0, 1.0))
        cache, flows = {}, []
        for frame in frame_inds:
            index = int(min(max(frame + 1, 1), last_flow))
            if index not in cache:
                flow = self._read(flow_dir, index)
                height, width = flow.shape[:2]
                left, top = int(round(x * width)), int(round(y * height))
                right = max(int(round((x + w) * width)), left + 1)
                bottom = max(int(round((y + h) * height)), top + 1)
                flow = flow[top:bottom, left:right]
                scale = np.array([out_w / flow.shape[1], out_h / flow.shape[0]],
                                 dtype=np.float32)
                flow = cv2.resize(flow, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
                flow *= scale
                if results.get('flip'):
                    if results.get('flip_direction', 'horizontal') != 'horizontal':
                        raise ValueError(f'{video}: only horizontal flips are supported')
                    flow = flow[:, ::-1] * np.array([-1, 1], dtype=np.float32)
                cache[index] = np.ascontiguousarray(flow)
            flows.append(cache[index])
        results['flow_imgs'] = flows
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(video_root={self.video_root!r}, '
                f'flow_root={self.flow_root!r}, filename_tmpl={self.filename_tmpl!r}, '
                f'bound={self.bound})')
