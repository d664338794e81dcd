"""Train a recognizer (MMAction2's tools/train.py interface; CPU distributed runs use gloo).

Examples:
    python tools/train.py configs/demo/r2plus1d_r10-c16_1xb16-8x2x1-10e_motion-rgb.py
    python tools/train.py CONFIG --resume                # latest checkpoint of the work dir
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth
    bash tools/dist_train.sh CONFIG 2                   # 2 processes (GPUs, or CPU + gloo)
"""
import argparse
import os

from mmengine.config import DictAction

from r21d_plugin.engine.launch import LAUNCHERS
from r21d_plugin.engine.runs import make_train_config, run_train


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train an action recognizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the latest checkpoint '
        'of the work dir: model, optimizer and scheduler state, epoch and iteration')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (GPU only)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual total batch size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='a different seed for each rank')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic cuDNN algorithms')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'train_dataloader.batch_size=8 "optim_wrapper.optimizer.lr=0.05"')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = make_train_config(
        args.config, work_dir=args.work_dir, resume=args.resume, amp=args.amp,
        no_validate=args.no_validate, auto_scale_lr=args.auto_scale_lr, seed=args.seed,
        diff_rank_seed=args.diff_rank_seed, deterministic=args.deterministic,
        cfg_options=args.cfg_options, launcher=args.launcher)
    run_train(cfg)


if __name__ == '__main__':
    main()
