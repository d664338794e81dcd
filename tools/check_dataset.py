"""r21d-check-dataset: r21d_plugin/cli/check_dataset.py"""
from r21d_plugin.cli.check_dataset import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
