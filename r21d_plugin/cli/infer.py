"""Recognize actions in your own videos with a config and a checkpoint, or a published model.

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] [--label-map FILE] [--topk 5]
        [--device cuda:0] [--amp bf16] [--workers 4] [--json OUT.json]
        [--timeline --clip-len L --stride S --plot OUT.png]
        [--flow-config CFG --flow-checkpoint CKPT --fusion-alpha 0.5] [--out-video OUT.mp4]
    python tools/infer.py NAME INPUT [INPUT ...] [--flow-config FLOW_NAME] [options]
        [--decoder auto|torchcodec|pyav|decord] [--decode-timeout SECONDS]

NAME: a published model (``r21d-list-models``): its config, with its weights downloaded,
verified and converted into the cache on first use (``docs/weights.md``).

INPUT: video files, folders of videos, or VideoDataset annotation files (``.txt``, paths
relative to ``--video-root`` or the file's folder; their labels give an accuracy). Each
video gets the config's multi-clip test and its top-k ``label: score`` is printed;
``--timeline`` adds the scores of every window of L frames every S frames. A video that
cannot be read is named with the reason on stderr, the others still run, and the exit
status is then 1.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

from mmengine.config import DictAction
from tqdm import tqdm

from .decoding import add_decoder_arguments, decode_timeout
from .errors import ToolError, cli_main, non_negative_int, positive_int, tool_parser
from ..apis.inference import Prediction, Timeline, iter_predict, timeline
from ..apis.loading import RecognizerLoadError, VideoRecognizer, load_recognizer
from ..apis.inputs import VideoItem, collect_videos, is_video_input
from ..apis.video import Video, VideoReadError
from ..apis.visualization import plot_timeline, write_labelled_video
from ..data.annotations import shown_name
from ..data.prep.paths import check_not_an_input
from ..engine.checkpoint import atomic_write
from ..engine.device import AMP_DTYPES, default_device
from ..label_maps import LabelMapError
from ..zoo import is_model, resolve

#: Classes drawn on ``--out-video`` frames.
DRAWN_CLASSES = 3
#: Decoding processes by default: enough to keep a GPU fed, few enough for a laptop.
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = tool_parser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='Outputs for several videos (--plot, --out-video) get the video\'s name '
               'appended: OUT.png -> OUT_<video>.png (OUT_<video>_2.png for a second video '
               'of that name).')
    parser.add_model_arguments(
        'the recognizer config (e.g. configs/pretrained/*.py), or a published model\'s name '
        '(r21d-list-models)',
        'its checkpoint (training\'s, tools/convert_weights.py\'s, or r21d://NAME); left out '
        'for a published model\'s own weights')
    parser.add_argument('inputs', nargs='+', metavar='INPUT',
                        help='video files, folders of videos, annotation files (.txt)')
    parser.add_argument('--label-map', help='class names, one per line, or a packaged name '
                        '(kinetics400, sports1m). Default: the config\'s label_map')
    parser.add_argument('--topk', type=positive_int, default=5, help='classes shown per video')
    parser.add_argument('--device', default=default_device(),
                        help='cpu, cuda, cuda:1, ... Default: cuda:0 where torch sees a GPU, '
                        'else cpu')
    parser.add_argument('--amp', choices=list(AMP_DTYPES),
                        help='run the networks under autocast in this precision (scores are '
                        'reported in float32). Default: float32')
    parser.add_argument('--workers', type=non_negative_int, default=DEFAULT_WORKERS,
                        help='processes that decode and prepare the videos while the network '
                        'runs (results stay in input order); 0 decodes in this process. '
                        'Default: min(4, CPUs)')
    parser.add_argument('--json', metavar='OUT.json',
                        help='write the results, per-clip scores included')
    parser.add_argument('--timeline', action='store_true',
                        help='also score every window of a video (long videos)')
    parser.add_argument('--clip-len', dest='window', type=positive_int, metavar='L',
                        help='frames per timeline window. Default: the config\'s clip length')
    parser.add_argument('--stride', type=positive_int, metavar='S',
                        help='frames between timeline windows. Default: the window\'s frames '
                        'times the config\'s frame interval (windows tile the video)')
    parser.add_argument('--batch-size', type=positive_int, default=8,
                        help='timeline windows per forward pass')
    parser.add_argument('--plot', metavar='OUT.png',
                        help='draw the timeline\'s top classes over time (needs --timeline)')
    parser.add_argument('--flow-config', help='a flow stream\'s config: flow is computed on '
                        'the fly, and RGB, flow and fused results are reported')
    parser.add_argument('--flow-checkpoint', help='the flow stream\'s checkpoint (left out '
                        'when --flow-config is a published model\'s name)')
    parser.add_argument('--fusion-alpha', type=float, default=0.5,
                        help='weight of the RGB scores in the fusion')
    parser.add_argument('--out-video', metavar='OUT.mp4',
                        help='the input with its top labels drawn on it (per window with '
                        '--timeline)')
    parser.add_argument('--video-root', dest='data_prefix',
                        help='folder the paths of annotation files are '
                        'relative to. Default: the annotation file\'s folder')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides of CONFIG, e.g. test_pipeline.1.num_clips=3')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    add_decoder_arguments(parser)
    args = parser.parse_args(argv)
    if args.checkpoint is not None and is_video_input(args.checkpoint):
        # NAME INPUT INPUT...: the first input took the optional checkpoint's place
        args.inputs.insert(0, args.checkpoint)
        args.checkpoint = None
    if bool(args.flow_config) != bool(args.flow_checkpoint) and not is_model(args.flow_config):
        parser.error('--flow-config and --flow-checkpoint go together (or --flow-config is a '
                     'published model\'s name)')
    if args.plot and not args.timeline:
        parser.error('--plot draws the timeline: add --timeline')
    if (args.window or args.stride) and not args.timeline:
        parser.error('--clip-len / --stride are timeline options: add --timeline')
    return args


def _output_path(path: Optional[str], video: str, several: bool,
                 used: Dict[str, int]) -> Optional[str]:
    """``path``, or with several videos ``<path stem>_<video stem><ext>`` (and ``_2``,
    ``_3``... for videos of the same name)."""
    if path is None or not several:
        return path
    stem, ext = osp.splitext(path)
    name = f'{stem}_{osp.splitext(osp.basename(video))[0]}'
    used[name] = used.get(name, 0) + 1
    return f'{name}{ext}' if used[name] == 1 else f'{name}_{used[name]}{ext}'


def _check_outputs(args: argparse.Namespace, items: Sequence[VideoItem],
                   several: bool) -> None:
    """Refuse, before any work, an output that is one of the inputs (exit status 2)."""
    inputs = [item.path for item in items] + list(args.inputs) + [
        args.config, args.checkpoint, args.flow_config, args.flow_checkpoint, args.label_map]
    if args.json:
        check_not_an_input(args.json, inputs, '--json')
    for flag, path in (('--plot', args.plot if args.timeline else None),
                       ('--out-video', args.out_video)):
        used: Dict[str, int] = {}
        for item in items if path else ():
            check_not_an_input(_output_path(path, item.path, several, used), inputs, flag)


def _scores_line(topk) -> str:
    return ', '.join(f'{label}: {score:.4f}' for _, label, score in topk)


def _report(prediction: Prediction, number: str, alpha: float) -> List[str]:
    info = prediction.video
    clips = prediction.clip_frames
    lines = [f'{number} {shown_name(prediction.name)} ({info.num_frames} frames at {info.fps:.2f} fps; '
             f'{len(clips)} clips of {clips.shape[1]} frames)']
    if prediction.looped:
        lines.append(f'  shorter than a clip: its {info.num_frames} frames are looped, as '
                     f'MMAction2\'s test does')
    if prediction.streams:
        width = len(f'fused (alpha {alpha:g})')
        for name, scores in prediction.streams.items():
            lines.append(f'  {name.upper() if name == "rgb" else name:<{width}}  '
                         f'{_scores_line(scores.topk)}')
        lines.append(f'  {f"fused (alpha {alpha:g})":<{width}}  {_scores_line(prediction.topk)}')
    else:
        lines.extend(f'  {label}: {score:.4f}' for _, label, score in prediction.topk)
    return lines


def _timeline_report(result: Timeline, topk: int) -> List[str]:
    starts, ends = result.seconds()
    lines = [f'  timeline: {len(result.starts)} windows of {result.clip_len} frames every '
             f'{result.stride} frames']
    lines.extend(f'    {begin:8.2f}-{end:8.2f} s  {_scores_line(top)}'
                 for begin, end, top in zip(starts, ends, result.topk(topk)))
    return lines


def _drawn_lines(prediction: Prediction, result: Optional[Timeline]):
    """``frame index -> lines`` for ``--out-video``: the video's top classes, or those of the
    window whose center is nearest the frame."""
    if result is None:
        lines = [f'{label} {score:.2f}' for _, label, score in prediction.topk[:DRAWN_CLASSES]]
        return lambda index: lines
    centers = result.starts + result.span / 2.0
    per_window = [[f'{label} {score:.2f}' for _, label, score in top]
                  for top in result.topk(DRAWN_CLASSES)]
    return lambda index: per_window[int(abs(centers - index).argmin())]


def _load(args: argparse.Namespace) -> Dict[str, VideoRecognizer]:
    # Published models' names become their configs and cached checkpoints (also for --json).
    args.config, args.checkpoint = resolve(args.config, args.checkpoint, need_checkpoint=True)
    if args.flow_config:
        args.flow_config, args.flow_checkpoint = resolve(args.flow_config, args.flow_checkpoint,
                                                         need_checkpoint=True)
    streams = dict(rgb=load_recognizer(args.config, args.checkpoint, args.device,
                                       args.label_map, args.cfg_options))
    if args.flow_config:
        streams['flow'] = load_recognizer(args.flow_config, args.flow_checkpoint, args.device,
                                          args.label_map)
    return streams


def _accuracy(items: Sequence[VideoItem], predictions: Dict[str, Prediction],
              topk: int) -> Optional[dict]:
    labelled = [(item.label, predictions[item.path]) for item in items
                if item.label is not None and item.path in predictions]
    if not labelled:
        return None
    top1 = sum(p.topk[0][0] == label for label, p in labelled) / len(labelled)
    topk_hits = sum(label in [i for i, _, _ in p.topk] for label, p in labelled) / len(labelled)
    return dict(videos=len(labelled), top1=round(100 * top1, 2),
                **{f'top{topk}': round(100 * topk_hits, 2)})


@cli_main
def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        streams = _load(args)
    except (RecognizerLoadError, LabelMapError) as error:
        raise ToolError(error) from error
    rgb, flow = streams['rgb'], streams.get('flow')
    if rgb.labels is None:
        print(f'r21d-infer: {args.config} has no label map: classes are shown as indices',
              file=sys.stderr)
    items, problems = collect_videos(args.inputs, args.data_prefix)
    several = len(items) > 1
    _check_outputs(args, items, several)
    for source, reason in problems:
        print(f'r21d-infer: {source}: {reason}', file=sys.stderr)
    plots: Dict[str, int] = {}
    out_videos: Dict[str, int] = {}
    results, failed, done = [], len(problems), {}
    predictions = iter_predict(rgb, [item.path for item in items], args.topk, flow,
                               args.fusion_alpha, errors='keep', workers=args.workers,
                               amp=args.amp, decoder=args.decoder,
                               decode_timeout=decode_timeout(args))
    bar = tqdm(zip(items, predictions), total=len(items), unit='video', file=sys.stderr,
               disable=args.no_progress or not items)
    for number, (item, prediction) in enumerate(bar, 1):
        bar.set_description(osp.basename(item.path))
        if prediction.error is not None:
            failed += 1
            tqdm.write(f'r21d-infer: {item.path}: {prediction.error}', file=sys.stderr)
            results.append(prediction.to_dict())
            continue
        lines = _report(prediction, f'[{number}/{len(items)}]', args.fusion_alpha)
        entry = prediction.to_dict()
        if item.label is not None:
            entry['label'] = item.label
        windows = None
        try:
            if args.timeline:
                windows = timeline(rgb, item.path, args.window, args.stride, flow,
                                   args.fusion_alpha, args.batch_size,
                                   progress=not args.no_progress, amp=args.amp,
                                   decoder=args.decoder, decode_timeout=decode_timeout(args))
                lines.extend(_timeline_report(windows, args.topk))
                entry['timeline'] = windows.to_dict(args.topk)
                if args.plot:
                    plot = plot_timeline(windows, _output_path(args.plot, item.path, several,
                                                               plots))
                    lines.append(f'  plot: {plot}')
            if args.out_video:
                out_video = _output_path(args.out_video, item.path, several, out_videos)
                write_labelled_video(Video(item.path, decoder=args.decoder,
                                           timeout=decode_timeout(args)), out_video,
                                     _drawn_lines(prediction, windows))
                lines.append(f'  labelled video: {out_video}')
        except VideoReadError as error:
            failed += 1
            tqdm.write(f'r21d-infer: {item.path}: {error.reason}', file=sys.stderr)
            entry['error'] = error.reason
        done[item.path] = prediction
        results.append(entry)
        tqdm.write('\n'.join(lines), file=sys.stdout)
    bar.close()
    accuracy = _accuracy(items, done, args.topk)
    if accuracy:
        print(f'accuracy over {accuracy["videos"]} labelled videos: top-1 {accuracy["top1"]}%, '
              f'top-{args.topk} {accuracy[f"top{args.topk}"]}%')
    if args.json:
        text = json.dumps(dict(config=args.config, checkpoint=args.checkpoint,
                               flow_config=args.flow_config,
                               flow_checkpoint=args.flow_checkpoint,
                               fusion_alpha=args.fusion_alpha if flow else None,
                               labels=rgb.labels, videos=results, accuracy=accuracy,
                               failed=[dict(input=source, error=reason)
                                       for source, reason in problems]), ensure_ascii=False)
        # A file name that is not UTF-8 holds surrogates (os.fsdecode): written as JSON's
        # \udcXX escapes, which json.load reads back and os.fsencode turns into the name.
        atomic_write(args.json, text.encode('utf-8', 'backslashreplace'))
        print(f'results: {args.json}')
    if failed:
        print(f'r21d-infer: {failed} of {len(items) + len(problems)} inputs failed (named above)',
              file=sys.stderr)
    return 1 if failed else 0
