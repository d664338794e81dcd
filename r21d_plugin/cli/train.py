"""Train a recognizer (MMAction2's tools/train.py interface; CPU distributed runs use gloo).

Examples:
    r21d-train configs/demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py
    r21d-train r2plus1d34_sports1m                      # a config by name, from any folder
    r21d-train CONFIG --resume                          # latest checkpoint of the work dir
    r21d-train CONFIG --resume work_dirs/x/epoch_3.pth
    r21d-train CONFIG --dry-run                         # check data and checkpoints, exit
    bash tools/dist_train.sh CONFIG 2                   # 2 processes (GPUs, or CPU + gloo)
"""
import argparse
import os
from typing import List

from mmengine.config import Config, DictAction

from ..engine.launch import LAUNCHERS
from ..engine.preflight import check_run_inputs
from ..engine.runs import make_train_config, run_test, run_train
from .errors import cli_main, tool_parser

RUNS = {'train': run_train, 'test': run_test}


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments train and test share: overrides, dry run, launcher."""
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'train_dataloader.batch_size=8 "optim_wrapper.optimizer.lr=0.05"')
    parser.add_argument('--dry-run', action='store_true',
                        help='load the config and check that the dataset files and '
                        'checkpoints it reads are there (and readable), then exit')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_run_args(parser: argparse.ArgumentParser, argv: List[str]) -> argparse.Namespace:
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def run_or_check(cfg: Config, phase: str, dry_run: bool) -> int:
    """Check the run's inputs and stop (``--dry-run``), or run it."""
    if dry_run:
        check_run_inputs(cfg, phase, read_checkpoints=True)
        print(f'dry run: {cfg.filename} loads; the dataset files and checkpoints its '
              f'{phase} run reads are there')
    else:
        RUNS[phase](cfg)
    return 0


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = tool_parser('Train an action recognizer')
    parser.add_argument('config', help='config file, or a config name (r2plus1d34_sports1m)')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the latest checkpoint '
        'of the work dir: model, optimizer and scheduler state, epoch and iteration')
    parser.add_argument('--amp', nargs='?', const='fp16', choices=('fp16', 'bf16'),
                        help='automatic mixed precision (GPU only): fp16 (also a bare --amp, '
                        'with dynamic loss scaling) or bf16')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual total batch size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='a different seed for each rank')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic cuDNN algorithms')
    parser.add_trust_checkpoint('resume')
    add_run_arguments(parser)
    return parse_run_args(parser, argv)


@cli_main
def main(argv: List[str]) -> int:
    args = parse_args(argv)
    cfg = make_train_config(
        args.config, work_dir=args.work_dir, resume=args.resume, amp=args.amp,
        no_validate=args.no_validate, auto_scale_lr=args.auto_scale_lr, seed=args.seed,
        diff_rank_seed=args.diff_rank_seed, deterministic=args.deterministic,
        cfg_options=args.cfg_options, launcher=args.launcher)
    return run_or_check(cfg, 'train', args.dry_run)
