"""The demo (README Quick start): f-R2D vs R(2+1)D on the embedded motion dataset, on CPU.

Generates data/motion if missing, trains both networks (configs/demo/), tests each with the
paper's 10-clip protocol and prints a clip@1 / video@1 table: 3-4 minutes on 2 idle CPU
cores (measured).

    .venv/bin/python tools/demo.py
    .venv/bin/python tools/demo.py --networks 'R(2+1)D' --verbose
"""
import argparse
import warnings

# Import-time warnings of the upstream stack (mmcv-lite's missing ops, pkg_resources).
warnings.filterwarnings('ignore', category=UserWarning)
warnings.filterwarnings('ignore', category=DeprecationWarning)

from mmengine.config import DictAction  # noqa: E402

from r21d_plugin.data.prep.motion_dataset import MOTION_DATASET_SIZES  # noqa: E402
from r21d_plugin.demo import DEMO_NETWORKS, run_demo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default='data/motion', help='motion dataset root')
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='checkpoints, logs, results.md, accuracy_vs_clips.png')
    parser.add_argument('--networks', nargs='+', choices=[n for n, _ in DEMO_NETWORKS],
                        help='train only these (default: both)')
    parser.add_argument('--dataset-size', default='demo', choices=list(MOTION_DATASET_SIZES),
                        help='"test" makes a smoke run on a tiny dataset')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides for both configs, e.g. train_cfg.max_epochs=3')
    parser.add_argument('--verbose', action='store_true',
                        help="mmengine's full log instead of progress bars")
    args = parser.parse_args()
    run_demo(data_root=args.data_root, work_dir=args.work_dir,
             dataset_size=args.dataset_size, networks=args.networks,
             cfg_options=args.cfg_options, quiet=not args.verbose)


if __name__ == '__main__':
    main()
