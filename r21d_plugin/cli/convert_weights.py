"""Convert published R(2+1)D-family weights into an MMAction2 checkpoint of this plugin.

    r21d-convert-weights SRC DST --source {torchvision,vmz-pt,caffe2} [--arch ARCH]

SRC is torchvision's r3d_18 / mc3_18 / r2plus1d_18 ``.pth``, ig65m-pytorch's (VMZ-pt)
R(2+1)D-34 ``.pth``, or a VMZ Caffe2 ``.pkl``. DST loads with ``load_from`` or
``init_cfg=dict(type='Pretrained', checkpoint=DST)`` into the matching config of
``configs/pretrained/``.
"""
import argparse
from typing import List

from ..engine.preflight import require_checkpoint
from ..weights import SOURCES, VMZ_MODEL_NAMES, convert_checkpoint, describe
from .errors import cli_main, tool_parser


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = tool_parser(__doc__.split('\n\n')[0])
    parser.add_argument('src', help='the published checkpoint (.pth or Caffe2 .pkl)')
    parser.add_argument('dst', help='where to write the MMAction2 checkpoint (.pth)')
    parser.add_argument('--source', required=True, choices=sorted(SOURCES),
                        help='who published SRC: torchvision, vmz-pt (VMZ-pt and '
                        'ig65m-pytorch .pth) or caffe2 (VMZ .pkl)')
    parser.add_argument('--arch', default=None,
                        help='the expected architecture, <model>_<depth> with model one of '
                        f'{", ".join(VMZ_MODEL_NAMES)} (e.g. r2plus1d_34, mc3_18); checked '
                        'against SRC. Default: read from SRC')
    return parser.parse_args(argv)


@cli_main
def main(argv: List[str]) -> int:
    args = parse_args(argv)
    require_checkpoint(args.src, 'convert')
    meta = convert_checkpoint(args.src, args.dst, args.source, arch=args.arch)
    print(describe(meta, args.dst))
    return 0
