"""Video accuracy against the number of test clips (the paper's Figure 5b) from test dumps.

    r21d-test CONFIG CHECKPOINT --dump work_dirs/x/clip_scores.pkl
    r21d-accuracy-vs-clips work_dirs/x/clip_scores.pkl --out fig5b.png
    r21d-accuracy-vs-clips a.pkl b.pkl --names 'f-R2D' 'R(2+1)D'
"""
import os.path as osp
from typing import List

from ..evaluation import (DumpError, accuracy_vs_num_clips, clip_scores_from_dump,
                          load_test_dump, plot_accuracy_vs_num_clips)
from .errors import cli_main, positive_int, tool_parser


@cli_main
def main(argv: List[str]) -> int:
    parser = tool_parser(__doc__.split('\n')[0])
    parser.add_argument('dumps', nargs='+', help='.pkl files of r21d-test --dump')
    parser.add_argument('--names', nargs='+', help='a curve name per dump (default: file names)')
    parser.add_argument('--out', default='accuracy_vs_clips.png', help='PNG to write')
    parser.add_argument('--num-clips', nargs='+', type=positive_int,
                        help='numbers of clips to evaluate (default: 1 .. clips tested)')
    args = parser.parse_args(argv)
    names = args.names or [osp.splitext(osp.basename(d))[0] for d in args.dumps]
    if len(names) != len(args.dumps):
        parser.error(f'{len(args.dumps)} dumps but {len(names)} names')

    curves = {}
    for name, dump in zip(names, args.dumps):
        records = load_test_dump(dump)
        try:
            scores, labels = clip_scores_from_dump(records)
        except DumpError as error:
            raise DumpError(f'{dump}: {error}') from error
        curves[name] = accuracy_vs_num_clips(scores, labels, args.num_clips)
    ns = sorted(set().union(*curves.values()))
    print('| clips | ' + ' | '.join(names) + ' |')
    print('|---|' + '---|' * len(names))
    for n in ns:
        cells = [f'{100 * curve[n]:.1f}' if n in curve else '' for curve in curves.values()]
        print(f'| {n} | ' + ' | '.join(cells) + ' |')
    plot_accuracy_vs_num_clips(curves, args.out)
    print(f'plot: {args.out}')
    return 0
