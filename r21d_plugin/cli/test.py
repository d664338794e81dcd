"""Test a checkpoint: clip@1, video@1, video@5, mean class accuracy in one run.

Examples:
    r21d-test CONFIG CHECKPOINT
    r21d-test NAME                                       # a published model (r21d-list-models)
    r21d-test CONFIG CHECKPOINT --dump work_dirs/x/clip_scores.pkl
    r21d-test CONFIG CHECKPOINT --dry-run                # check data and checkpoint, exit
    bash tools/dist_test.sh CONFIG CHECKPOINT 2          # 2 processes, same metrics
"""
import argparse
from typing import List

from ..engine.runs import make_test_config
from .errors import cli_main, tool_parser
from .train import add_run_arguments, parse_run_args, run_or_check


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = tool_parser('Test (and evaluate) an action recognizer')
    parser.add_argument('config', help='config file, or a config name, or a published '
                        'model\'s name (r21d-list-models)')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (or r21d://NAME); left out for a published '
                        'model\'s own weights')
    parser.add_argument('--work-dir', help='the dir to save the metrics file')
    parser.add_argument(
        '--dump', type=str,
        help='dump every sample\'s results, per-clip scores included, to a .pkl file '
        '(input of r21d-accuracy-vs-clips)')
    parser.add_trust_checkpoint()
    add_run_arguments(parser)
    return parse_run_args(parser, argv)


@cli_main
def main(argv: List[str]) -> int:
    args = parse_args(argv)
    cfg = make_test_config(args.config, args.checkpoint, work_dir=args.work_dir,
                           dump=args.dump, cfg_options=args.cfg_options,
                           launcher=args.launcher)
    return run_or_check(cfg, 'test', args.dry_run)
