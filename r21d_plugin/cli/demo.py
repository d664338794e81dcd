"""The demo (README Quick start): f-R2D vs R(2+1)D on the embedded motion dataset, on CPU.

Generates data/motion if missing, trains both networks (configs/demo/), tests each with the
paper's 10-clip protocol and prints a clip@1 / video@1 table: 3-4 minutes on 2 idle CPU
cores (measured).

    r21d-demo
    r21d-demo --networks 'R(2+1)D' --verbose
"""
from typing import List

from mmengine.config import DictAction

from ..data.prep.motion_dataset import MOTION_DATASET_SIZES
from ..demo import DEMO_NETWORKS, run_demo
from .errors import VERBOSE_HELP, cli_main, tool_parser


@cli_main
def main(argv: List[str]) -> int:
    parser = tool_parser(__doc__.split('\n')[0],
                         verbose_help="mmengine's full log instead of progress bars; "
                         + VERBOSE_HELP)
    parser.add_argument('--data-root', default='data/motion', help='motion dataset root')
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='checkpoints, logs, results.md, accuracy_vs_clips.png')
    parser.add_argument('--networks', nargs='+', choices=[n for n, _ in DEMO_NETWORKS],
                        help='train only these (default: both)')
    parser.add_argument('--dataset-size', default='demo', choices=list(MOTION_DATASET_SIZES),
                        help='"test" makes a smoke run on a tiny dataset')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides for both configs, e.g. train_cfg.max_epochs=3')
    args = parser.parse_args(argv)
    run_demo(data_root=args.data_root, work_dir=args.work_dir,
             dataset_size=args.dataset_size, networks=args.networks,
             cfg_options=args.cfg_options, quiet=not args.verbose)
    return 0
