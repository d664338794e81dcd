"""r21d-test: r21d_plugin/cli/test.py"""
from r21d_plugin.cli.test import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
