"""r21d-list-models: r21d_plugin/cli/list_models.py"""
from r21d_plugin.cli.list_models import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
