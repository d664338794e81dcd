"""Build MMAction2 annotation files for Sports-1M from its official split files.

Example (after `git clone https://github.com/gtoderici/sports-1m-dataset` and downloading
the videos, named by YouTube id, into data/sports1m/videos):
    r21d-build-sports1m-annotations \\
        --train sports-1m-dataset/original/train_partition.txt \\
        --test sports-1m-dataset/original/test_partition.txt \\
        --labels sports-1m-dataset/labels.txt \\
        --video-dir data/sports1m/videos --out-dir data/sports1m

Split files may also be the JSON lists of sports1m_json.zip (sports1m_train.json, ...),
and either may be gzip-compressed. Writes sports1m_{train,test}_list_videos.txt (what the
configs under configs/sports1m read), sports1m_label_map.txt, and
sports1m_{train,test}_missing.txt for listed videos not found under --video-dir.
"""
import argparse
from typing import List

from ..data.prep.sports1m import (MULTI_LABEL_RULES, Sports1MFormatError,
                                  build_annotations)
from .errors import ToolError, cli_main, tool_parser


@cli_main
def main(argv: List[str]) -> int:
    parser = tool_parser(
        __doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.split('\n')[2:]))
    parser.add_argument('--train', help='training split: partition .txt or .json (.gz ok)')
    parser.add_argument('--test', help='test split: partition .txt or .json (.gz ok)')
    parser.add_argument('--labels', help="labels.txt with the 487 class names")
    parser.add_argument('--video-dir',
                        help='downloaded videos (file name = YouTube id); paths are '
                        'written relative to it and missing videos are left out. '
                        'Without it every video is written as <id><ext>, unchecked')
    parser.add_argument('--out-dir', default='data/sports1m')
    parser.add_argument('--multi-label', default='first', choices=MULTI_LABEL_RULES,
                        help="videos with several labels: 'first' keeps the first one "
                        "listed, 'duplicate' writes one line per label (default: first)")
    parser.add_argument('--ext', default='.mp4',
                        help='extension of the unchecked paths (without --video-dir)')
    args = parser.parse_args(argv)
    if not (args.train or args.test):
        parser.error('give --train and/or --test')

    try:
        summaries = build_annotations(
            args.out_dir, train=args.train, test=args.test, labels=args.labels,
            video_dir=args.video_dir, multi_label=args.multi_label, ext=args.ext)
    except (Sports1MFormatError, FileNotFoundError, ValueError) as e:
        raise ToolError(e) from e
    for s in summaries:
        print(f'{s.name}: {s.videos} videos ({s.multi_label} with several labels) -> '
              f'{s.lines} lines in {s.ann_file}')
        if s.missing:
            print(f'  {s.missing} videos not found under {args.video_dir}, listed in '
                  f'{s.missing_file}')
        for warning in s.warnings:
            print(f'  warning: {warning}')
    return 0
