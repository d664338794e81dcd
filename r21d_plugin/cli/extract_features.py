"""Extract clip features for every window of every video (``r21d_plugin.apis.features``).

Examples:
    python tools/extract_features.py CONFIG CHECKPOINT videos/ features/
    python tools/extract_features.py NAME videos/ features/     # a published model (by name)
    python tools/extract_features.py CONFIG CHECKPOINT train.txt features/ --video-root videos \\
        --layer conv4 --stride 8 --amp bf16
    python tools/extract_features.py RGB_CONFIG RGB_CKPT videos/ features/ \\
        --flow-config FLOW_CONFIG --flow-checkpoint FLOW_CKPT        # RGB and flow, side by side
    python tools/extract_features.py CONFIG CHECKPOINT videos/ features/ --device cpu \\
        --runtime openvino                        # on CPUs: the network in OpenVINO
    bash tools/dist_extract_features.sh CONFIG CHECKPOINT videos/ features/ 8   # 8 GPUs

Exit status: 0 when every video is done (or was already), 1 when some failed (named, with
the reason, in the output and in OUT/failed.txt), 2 when nothing could start (bad arguments,
config, checkpoint or list, or OUT holding features made with other settings).
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import torch
import torch.distributed as dist

from r21d_plugin.cli.decoding import add_decoder_arguments, decode_timeout
from r21d_plugin.cli.errors import (cli_main, error_line, non_negative_int, positive_int,
                                    tool_parser)
from r21d_plugin.apis.features import (AMP_DTYPES, DISTRIBUTED_TIMEOUT_S, FAILED_FILE,
                                       LAYER_STAGES, FeatureExtractor, OutputInUseError,
                                       extract_features)
from r21d_plugin.apis.features.runtime import CACHE_FOLDER, FEATURE_TOLERANCE, VERIFY_CLIPS
from r21d_plugin.apis.loading import load_recognizer
from r21d_plugin.apis.runtimes import RUNTIMES
from r21d_plugin.engine.device import default_device, use_device
from r21d_plugin.zoo import is_model, resolve
from r21d_plugin.engine.launch import (LAUNCHERS, init_cpu_process_group,
                                       shutdown_distributed)
from r21d_plugin.weights.convert import file_sha256


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = tool_parser(
        description='Clip features for every window of every video: OUT/<video>.npy '
        '(float32, one row per window) and OUT/index.csv',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_model_arguments(
        'the (RGB) recognizer config, whose test pipeline preprocesses the windows, or a '
        'published model\'s name (r21d-list-models)',
        'its checkpoint (loaded strictly); left out for a published model\'s own weights')
    parser.add_argument('src', help='a video file, a folder of videos (searched '
                        'recursively), or a VideoDataset annotation file')
    parser.add_argument('out', help='the output folder')
    parser.add_argument('--clip-len', type=positive_int, help='frames per window (default: the '
                        "config's clip length)")
    parser.add_argument('--stride', type=positive_int, help='frames between window starts '
                        "(default: clip length x the config's frame interval)")
    parser.add_argument('--layer', choices=list(LAYER_STAGES), default='pool5',
                        help='pool5: the pooled conv5 output; convN: that stage, pooled '
                        'over time and space')
    parser.add_argument('--keep-map', action='store_true',
                        help="store a conv layer's C x T' x H' x W' map instead of pooling it")
    parser.add_argument('--batch-size', type=positive_int, default=8,
                        help='windows per forward pass')
    parser.add_argument('--workers', type=non_negative_int, default=2,
                        help='decoding processes (per rank); 0 decodes in the main process')
    parser.add_argument('--device', default=default_device(),
                        help='cpu, cuda, cuda:1, ...: cuda:0 where torch sees a GPU, else cpu '
                        '(under a launcher each rank takes the GPU of its LOCAL_RANK)')
    parser.add_argument('--runtime', choices=('pytorch', ) + RUNTIMES, default='pytorch',
                        help='run the networks in PyTorch, or exported to ONNX in ONNX Runtime '
                        'or OpenVINO (CPU, float32; checked against PyTorch on random clips '
                        'before any video)')
    parser.add_argument('--onnx', metavar='FILE',
                        help='with --runtime: the exported network to use, made there if '
                        'absent (default: exported once into OUT/.runtime)')
    parser.add_argument('--amp', choices=list(AMP_DTYPES),
                        help='run the networks under autocast in this dtype (features are '
                        'stored as float32)')
    parser.add_argument('--flow-config', help='a flow config that computes flow on the fly: '
                        'its features of the same windows follow the RGB ones')
    parser.add_argument('--flow-checkpoint', help="the flow config's checkpoint (left out "
                        "for a published model's name)")
    parser.add_argument('--video-root', help="the folder an annotation file's paths are "
                        "relative to (default: the annotation file's folder)")
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='set by the dist_/slurm_ launch scripts')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    add_decoder_arguments(parser)
    args = parser.parse_args(argv)
    if bool(args.flow_config) != bool(args.flow_checkpoint) and not is_model(args.flow_config):
        parser.error('--flow-config and --flow-checkpoint go together (or --flow-config is a '
                     'published model\'s name)')
    if args.onnx and args.runtime == 'pytorch':
        parser.error('--onnx names the exported network of --runtime onnxruntime|openvino')
    return args


def _device(name: str) -> torch.device:
    """The device of this process: ``name``; a GPU under a launcher is its rank's own."""
    device = use_device(name)
    if device.type == 'cuda':
        if 'LOCAL_RANK' in os.environ:
            device = use_device(f'cuda:{int(os.environ["LOCAL_RANK"])}')
        torch.cuda.set_device(device)
    return device


@cli_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    # Published models' names become their configs and cached checkpoints; the ranks of a
    # job fetch them once (the cache's lock), before the process group starts.
    args.config, args.checkpoint = resolve(args.config, args.checkpoint, need_checkpoint=True)
    if args.flow_config:
        args.flow_config, args.flow_checkpoint = resolve(args.flow_config, args.flow_checkpoint,
                                                         need_checkpoint=True)
    if args.launcher != 'none':
        # gloo carries the few small messages between ranks, with GPUs as well.
        init_cpu_process_group(args.launcher, timeout_s=DISTRIBUTED_TIMEOUT_S)
    try:
        try:
            device = _device(args.device)
            try:
                # (class names play no part in features)
                model = load_recognizer(args.config, args.checkpoint, device,
                                        labels=False).model
                flow_model = (load_recognizer(args.flow_config, args.flow_checkpoint, device,
                                              labels=False).model
                              if args.flow_config else None)
                extractor = FeatureExtractor(model, args.layer, args.keep_map, args.clip_len,
                                             args.stride, args.amp, flow_model, args.decoder,
                                             decode_timeout(args))
                differences = extractor.use_runtime(
                    args.runtime, osp.join(args.out, CACHE_FOLDER), args.onnx)
            except RuntimeError as exc:  # weights or inputs that do not fit the network
                raise ValueError(str(exc)) from None
            if differences and (not dist.is_initialized() or dist.get_rank() == 0):
                print(f'{args.runtime}: features within {max(differences.values()):.1e} of '
                      f"PyTorch's (of their scale) on {VERIFY_CLIPS} random clips, tolerance "
                      f'{FEATURE_TOLERANCE:.0e}')
            # what a resumed run must match: the weights by content, not by file name
            names = dict(config=osp.basename(args.config),
                         checkpoint_sha256=file_sha256(args.checkpoint),
                         flow_config=args.flow_config and osp.basename(args.flow_config),
                         flow_checkpoint_sha256=args.flow_checkpoint
                         and file_sha256(args.flow_checkpoint))
            report = extract_features(extractor, args.src, args.out, args.video_root,
                                      args.batch_size, args.workers,
                                      progress=not args.no_progress, names=names)
        except (OSError, ValueError, KeyError, OutputInUseError) as exc:
            print(error_line(exc), file=sys.stderr)
            shutdown_distributed(wait_for_peers=False)
            return 2
        except BaseException:
            # Any other error (CUDA out of memory, a bug): leave without meeting the other
            # ranks, which may be far from any collective (or waiting in one for this
            # rank); torchrun then stops them at once, and gloo fails their pending
            # collectives, so no rank waits out DISTRIBUTED_TIMEOUT_S.
            shutdown_distributed(wait_for_peers=False)
            raise
        if not dist.is_initialized() or dist.get_rank() == 0:
            if report.failed:
                print(f'{len(report.failed)} video(s) failed, listed in '
                      f'{osp.join(args.out, FAILED_FILE)}', file=sys.stderr)
            print(f'extract_features: {report.summary()}')
        return 1 if report.failed else 0
    finally:
        shutdown_distributed()
