"""r21d-generate-motion-dataset: r21d_plugin/cli/generate_motion_dataset.py"""
from r21d_plugin.cli.generate_motion_dataset import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
