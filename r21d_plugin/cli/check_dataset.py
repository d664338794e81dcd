"""Decode every entry of an MMAction2 annotation file and report the bad ones.

    r21d-check-dataset ANN_FILE DATA_ROOT [--out CLEAN_ANN] [--workers N]
        [--decoder auto|pyav|decord|torchcodec] [--decode-timeout SECONDS]

Exits 1 when it found bad entries (each printed as ``ann_file:line: path: reason``), 0 when
every entry decodes. ``--out`` writes the good lines to a clean annotation file.
"""
import argparse
import os
from typing import List

from .decoding import add_decoder_arguments, decode_timeout
from ..data.prep.paths import check_not_an_input
from .errors import cli_main, non_negative_int, positive_int, tool_parser


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = tool_parser(__doc__.split('\n\n')[0])
    parser.add_argument('ann_file', help='annotation file (VideoDataset or RawframeDataset)')
    parser.add_argument('data_root', help='directory the annotation paths are relative to')
    parser.add_argument('--out', help='write the good entries to this annotation file')
    parser.add_argument('--workers', type=positive_int, default=os.cpu_count() or 1,
                        help='decoding processes (default: all cores)')
    parser.add_argument('--num-classes', type=positive_int,
                        help='labels must lie in 0..NUM_CLASSES-1')
    parser.add_argument('--multi-class', action='store_true', help='lines carry several labels')
    parser.add_argument('--min-frames', type=positive_int, default=1,
                        help='fewer frames is bad; use one clip span, '
                        '(clip_len - 1) * frame_interval + 1')
    parser.add_argument('--delimiter', default=' ', help='field delimiter of video annotations')
    parser.add_argument('--rawframes', action='store_true',
                        help='entries are frame directories: <dir> <total_frames> <label>')
    parser.add_argument('--modality', choices=['RGB', 'Flow'], default='RGB',
                        help='rawframes: RGB images or x/y flow images')
    parser.add_argument('--filename-tmpl', help='rawframes: frame file name template')
    parser.add_argument('--with-offset', action='store_true',
                        help='rawframes: lines carry <offset> <total_frames>')
    parser.add_argument('--start-index', type=non_negative_int, default=1,
                        help='rawframes: index of the first frame file')
    add_decoder_arguments(parser)
    return parser.parse_args(argv)


@cli_main
def main(argv: List[str]) -> int:
    args = parse_args(argv)
    from ..data.prep.dataset_check import (check_dataset, format_report,
                                           write_clean_annotation)
    if args.out:  # before the check, which may take hours
        check_not_an_input(args.out, [args.ann_file], '--out')
    checks = check_dataset(
        args.ann_file, args.data_root, workers=args.workers, rawframes=args.rawframes,
        num_classes=args.num_classes, multi_class=args.multi_class,
        min_frames=args.min_frames, delimiter=args.delimiter, with_offset=args.with_offset,
        modality=args.modality, filename_tmpl=args.filename_tmpl,
        start_index=args.start_index, decoder=args.decoder,
        decode_timeout=decode_timeout(args))
    print(format_report(args.ann_file, checks))
    if args.out:
        kept = write_clean_annotation(checks, args.out)
        print(f'wrote {kept} good entries to {args.out}')
    return 1 if any(check.problem is not None for check in checks) else 0
