"""Test a checkpoint: clip@1, video@1, video@5, mean class accuracy in one run.

Examples:
    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --dump work_dirs/x/clip_scores.pkl
    bash tools/dist_test.sh CONFIG CHECKPOINT 2          # 2 processes, same metrics
"""
import argparse
import os

from mmengine.config import DictAction

from r21d_plugin.engine.launch import LAUNCHERS
from r21d_plugin.engine.runs import make_test_config, run_test


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) an action recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the metrics file')
    parser.add_argument(
        '--dump', type=str,
        help='dump every sample\'s results, per-clip scores included, to a .pkl file '
        '(input of tools/analysis/accuracy_vs_clips.py)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'test_dataloader.num_workers=0')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = make_test_config(args.config, args.checkpoint, work_dir=args.work_dir,
                           dump=args.dump, cfg_options=args.cfg_options,
                           launcher=args.launcher)
    run_test(cfg)


if __name__ == '__main__':
    main()
