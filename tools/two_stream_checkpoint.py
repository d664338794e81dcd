"""Merge an RGB and a flow checkpoint into one TwoStreamRecognizer checkpoint.

    python tools/two_stream_checkpoint.py RGB_CKPT FLOW_CKPT OUT

Each input is the checkpoint a single-stream config trained (or converted weights in the
same layout); OUT holds them under ``rgb.`` and ``flow.``, for
``tools/test.py configs/two_stream/<...>-two-stream.py OUT``.
"""
import argparse

from r21d_plugin.weights.stream_checkpoints import merge_stream_checkpoints


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('rgb', help="the RGB stream's checkpoint")
    parser.add_argument('flow', help="the flow stream's checkpoint")
    parser.add_argument('out', help='the two-stream checkpoint to write')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    taken = merge_stream_checkpoints(args.rgb, args.flow, args.out)
    print(f'{args.out}: {len(taken["rgb"])} RGB and {len(taken["flow"])} flow tensors')


if __name__ == '__main__':
    main()
