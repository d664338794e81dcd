"""r21d-extract-flow: r21d_plugin/cli/extract_flow.py"""
from r21d_plugin.cli.extract_flow import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
