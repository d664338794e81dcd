"""r21d-model-complexity: r21d_plugin/cli/model_complexity.py"""
from r21d_plugin.cli.model_complexity import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
