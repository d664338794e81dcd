"""Print parameters, G multiply-adds per clip and conv5 output size of every network.

    python tools/analysis/model_complexity.py [--crop-size 112]
"""
import argparse

from r21d_plugin.models import complexity_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--crop-size', type=int, default=112)
    args = parser.parse_args()
    print(complexity_table(crop_size=args.crop_size))


if __name__ == '__main__':
    main()
