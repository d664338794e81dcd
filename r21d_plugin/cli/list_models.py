"""List the published models the zoo fetches by name (configs/pretrained/metafile.yml).

    r21d-list-models [PATTERN] [--fetch]

PATTERN filters the names with shell wildcards (``'r2plus1d_r34*'``); a plain word keeps
the names containing it. A name listed here works wherever a checkpoint is taken
(``r21d-infer NAME VIDEO``, ``load_from = 'r21d://NAME'``); its weights are downloaded,
verified and converted on first use and cached (``cached``: yes when no download is needed).
``--fetch`` does that now for the listed models (e.g. on a login node with internet access,
before jobs on nodes without).
"""
import argparse
from typing import List

from ..zoo import cache_root, get_checkpoint, is_cached, list_models, model_info
from .errors import cli_main, tool_parser

COLUMNS = ('name', 'network', 'frames', 'data', 'top-1', 'cached')


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = tool_parser(__doc__.split('\n\n')[0], prog='r21d-list-models')
    parser.add_argument('pattern', nargs='?', help='wildcard pattern or word to match names')
    parser.add_argument('--fetch', action='store_true',
                        help='download, verify and convert the listed models into the cache')
    return parser.parse_args(argv)


def table(names: List[str]) -> List[str]:
    """The listing's lines: a header, then one row per model."""
    rows = [COLUMNS]
    for name in names:
        info = model_info(name)
        modality = '' if info.modality == 'RGB' else f' {info.modality.lower()}'
        rows.append((name, info.architecture + modality, str(info.clip_len), info.data,
                     '-' if info.top1 is None else f'{info.top1:.1f}',
                     'yes' if is_cached(name) else 'no'))
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    return ['  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in rows]


@cli_main
def main(argv: List[str]) -> int:
    args = parse_args(argv)
    names = list_models(args.pattern)
    if not names:
        print(f'no published model matches {args.pattern!r}; r21d-list-models lists all')
        return 1
    if args.fetch:
        for name in names:
            get_checkpoint(name)
    print('\n'.join(table(names)))
    print(f'\n{len(names)} models; cache: {cache_root()} (top-1: the publisher\'s video '
          f'accuracy, %; r21d_plugin.zoo.model_info(NAME) gives the protocol)')
    return 0
