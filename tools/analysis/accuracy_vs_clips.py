"""Video accuracy against the number of test clips (the paper's Figure 5b) from test dumps.

    python tools/test.py CONFIG CHECKPOINT --dump work_dirs/x/clip_scores.pkl
    python tools/analysis/accuracy_vs_clips.py work_dirs/x/clip_scores.pkl --out fig5b.png
    python tools/analysis/accuracy_vs_clips.py a.pkl b.pkl --names 'f-R2D' 'R(2+1)D'
"""
import argparse
import os.path as osp

from mmengine.fileio import load

from r21d_plugin.evaluation import (accuracy_vs_num_clips, clip_scores_from_dump,
                                    plot_accuracy_vs_num_clips)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dumps', nargs='+', help='.pkl files of tools/test.py --dump')
    parser.add_argument('--names', nargs='+', help='a curve name per dump (default: file names)')
    parser.add_argument('--out', default='accuracy_vs_clips.png', help='PNG to write')
    parser.add_argument('--num-clips', nargs='+', type=int,
                        help='numbers of clips to evaluate (default: 1 .. clips tested)')
    args = parser.parse_args()
    names = args.names or [osp.splitext(osp.basename(d))[0] for d in args.dumps]
    if len(names) != len(args.dumps):
        parser.error(f'{len(args.dumps)} dumps but {len(names)} names')

    curves = {name: accuracy_vs_num_clips(*clip_scores_from_dump(load(dump)), args.num_clips)
              for name, dump in zip(names, args.dumps)}
    ns = sorted(set().union(*curves.values()))
    print('| clips | ' + ' | '.join(names) + ' |')
    print('|---|' + '---|' * len(names))
    for n in ns:
        cells = [f'{100 * curve[n]:.1f}' if n in curve else '' for curve in curves.values()]
        print(f'| {n} | ' + ' | '.join(cells) + ' |')
    plot_accuracy_vs_num_clips(curves, args.out)
    print(f'plot: {args.out}')


if __name__ == '__main__':
    main()
