"""Speed of our networks beside MMAction2's and torchvision's, of the data pipeline, and of
the use side (inference, timelines, feature extraction, ONNX Runtime, OpenVINO).

Prints Markdown tables and writes JSON. Examples::

    # R(2+1)D-18, 16x112x112, batch 8, float32 + bf16 rows, peers also in channels_last
    r21d-benchmark --threads 2 --amp bf16 --channels-last --json bench.json
    # every network of the paper, ours against its peers
    r21d-benchmark --network all --no-plain --no-pipeline
    # a quick check
    r21d-benchmark --clip-len 4 --crop-size 32 --batch-size 2 --base-channels 8 \\
        --peers --no-pipeline --no-use-side
    # only the use side: inference, timeline, feature extraction, ONNX Runtime, OpenVINO
    r21d-benchmark --no-models --no-pipeline --threads 2
    # on a GPU, with fp16 autocast
    r21d-benchmark --device cuda --amp fp16 bf16 --channels-last --batch-size 32
"""
import argparse
import logging
from typing import List

from mmengine.logging import MMLogger

from .. import PAPER_NAMES
from ..configs import resolve_config
from ..benchmark import BenchmarkSettings, format_report, run_benchmark, save_result
from ..benchmark.settings import config_name
from ..data.decoders import DECODER_CHOICES
from .errors import cli_main, non_negative_int, positive_float, positive_int, tool_parser


def parse_args(argv: List[str]) -> argparse.Namespace:
    defaults = BenchmarkSettings()
    parser = tool_parser(__doc__.split('\n\n')[0])
    parser.add_argument('--network', nargs='+', default=list(defaults.networks),
                        help=f"paper name(s) or 'all': {', '.join(PAPER_NAMES)}")
    parser.add_argument('--depth', type=positive_int, default=defaults.depth)
    parser.add_argument('--clip-len', type=positive_int, default=defaults.clip_len)
    parser.add_argument('--crop-size', type=positive_int, default=defaults.crop_size)
    parser.add_argument('--batch-size', type=positive_int, default=defaults.batch_size)
    parser.add_argument('--base-channels', type=positive_int, default=defaults.base_channels,
                        help='network width (64 in the paper; small for quick checks)')
    parser.add_argument('--num-classes', type=positive_int, default=defaults.num_classes)
    parser.add_argument('--device', default=defaults.device, choices=['cpu', 'cuda'])
    parser.add_argument('--threads', type=positive_int, help='torch CPU threads')
    parser.add_argument('--cpu-malloc', default=defaults.cpu_malloc,
                        choices=['keep', 'default'],
                        help="'keep': glibc keeps freed memory for reuse, as our train and "
                        "test tools do (every model of the run alike); 'default': glibc's "
                        'defaults, as a plain Python process')
    parser.add_argument('--amp', nargs='+', default=[], choices=['bf16', 'fp16'],
                        help='add autocast rows in these precisions')
    parser.add_argument('--channels-last', action='store_true',
                        help='add channels_last_3d rows for the peers (ours uses it by '
                        'default)')
    parser.add_argument('--compile', action='store_true',
                        help='add torch.compile rows of ours and of each peer as users run '
                        'it (reports compile time)')
    parser.add_argument('--no-plain', action='store_true',
                        help='skip our plain path (contiguous, separate BatchNorms)')
    parser.add_argument('--peers', nargs='*', default=list(defaults.peers),
                        choices=list(defaults.peers),
                        help='peer families to measure (none: only ours)')
    parser.add_argument('--no-models', action='store_true',
                        help='measure only the data pipeline (and the peak)')
    parser.add_argument('--warmup', type=non_negative_int, default=defaults.warmup)
    parser.add_argument('--iters', type=positive_int, default=defaults.iters)
    parser.add_argument('--test-clips', type=non_negative_int, default=defaults.test_clips,
                        help='clips per video of the recognizer test (0: skip it)')
    parser.add_argument('--test-videos', type=positive_int, default=defaults.test_videos,
                        help='videos per recognizer test batch')
    parser.add_argument('--no-pipeline', action='store_true',
                        help='skip the data pipeline measurement')
    parser.add_argument('--data-config', default=defaults.data_config,
                        help='dataset config (a path or a name) whose pipelines and '
                        'workers are measured')
    parser.add_argument('--workers', type=non_negative_int,
                        help="data loader workers (default: the data config's)")
    parser.add_argument('--pipeline-videos', type=positive_int, default=defaults.pipeline_videos)
    parser.add_argument('--video-size', type=positive_int, default=defaults.video_size)
    parser.add_argument('--video-frames', type=positive_int, default=defaults.video_frames)
    parser.add_argument('--pipeline-batches', type=positive_int, default=defaults.pipeline_batches)
    parser.add_argument('--no-use-side', action='store_true',
                        help='skip the use side (inference, timeline, feature extraction, '
                        'ONNX Runtime, OpenVINO)')
    parser.add_argument('--use-config', nargs='+',
                        default=[config_name(path) for path in defaults.use_configs],
                        help='recognizer configs (paths or names) whose use side is measured')
    parser.add_argument('--use-seconds', type=positive_float, default=defaults.use_video_seconds,
                        help='length of the generated use-side video (30 fps)')
    parser.add_argument('--use-video-size', type=positive_int, nargs=2,
                        default=list(defaults.use_video_size), metavar=('HEIGHT', 'WIDTH'))
    parser.add_argument('--decoders', nargs='+', choices=DECODER_CHOICES[1:], default=[],
                        help='video decoders measured on the use side (default: every '
                        'installed CPU one, and torchcodec-cuda on a GPU)')
    parser.add_argument('--runtime-malloc', nargs='+', choices=['keep', 'default'],
                        default=list(defaults.runtime_cpu_mallocs),
                        help='allocator settings the use side times PyTorch, ONNX Runtime '
                        'and OpenVINO in, side by side (a process each)')
    parser.add_argument('--json', help='write the full results here')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


@cli_main
def main(argv: List[str]) -> int:
    args = parse_args(argv)
    MMLogger.get_instance('mmengine').setLevel(logging.ERROR)
    networks = list(PAPER_NAMES) if args.network == ['all'] else args.network
    if args.no_models:
        networks = []
    settings = BenchmarkSettings(
        networks=networks, depth=args.depth, clip_len=args.clip_len,
        crop_size=args.crop_size, batch_size=args.batch_size,
        base_channels=args.base_channels, num_classes=args.num_classes, device=args.device,
        threads=args.threads, cpu_malloc=args.cpu_malloc, amp=args.amp,
        channels_last=args.channels_last,
        plain=not args.no_plain, compile=args.compile, peers=args.peers,
        warmup=args.warmup, iters=args.iters, test_clips=args.test_clips,
        test_videos=args.test_videos, pipeline=not args.no_pipeline,
        data_config=resolve_config(args.data_config), workers=args.workers,
        pipeline_videos=args.pipeline_videos, video_size=args.video_size,
        video_frames=args.video_frames, pipeline_batches=args.pipeline_batches,
        use_side=not args.no_use_side,
        use_configs=[resolve_config(name) for name in args.use_config],
        use_video_seconds=args.use_seconds, use_video_size=tuple(args.use_video_size),
        use_decoders=args.decoders, runtime_cpu_mallocs=args.runtime_malloc)
    save = (lambda result: save_result(result, args.json)) if args.json else None
    result = run_benchmark(settings, progress=not args.no_progress, on_update=save)
    print(format_report(result))
    if args.json:
        print(f'\nresults written to {args.json}')
    return 0
