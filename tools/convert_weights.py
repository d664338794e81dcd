"""r21d-convert-weights: r21d_plugin/cli/convert_weights.py"""
from r21d_plugin.cli.convert_weights import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
