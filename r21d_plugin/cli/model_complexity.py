"""Print parameters, G multiply-adds per clip and conv5 output size of every network.

    r21d-model-complexity [--crop-size 112]
"""
from typing import List

from ..models import complexity_table
from .errors import cli_main, positive_int, tool_parser


@cli_main
def main(argv: List[str]) -> int:
    parser = tool_parser(__doc__.splitlines()[0])
    parser.add_argument('--crop-size', type=positive_int, default=112)
    args = parser.parse_args(argv)
    print(complexity_table(crop_size=args.crop_size))
    return 0
