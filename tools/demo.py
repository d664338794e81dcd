"""r21d-demo: r21d_plugin/cli/demo.py"""
from r21d_plugin.cli.demo import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
