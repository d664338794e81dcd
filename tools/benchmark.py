"""r21d-benchmark: r21d_plugin/cli/benchmark.py"""
from r21d_plugin.cli.benchmark import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
