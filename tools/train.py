"""r21d-train: r21d_plugin/cli/train.py"""
from r21d_plugin.cli.train import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
