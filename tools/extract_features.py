"""Clip features for every window of every video (r21d_plugin/cli/extract_features.py)."""
from r21d_plugin.cli.extract_features import main

if __name__ == '__main__':  # its decoding workers re-import this file as their __main__
    raise SystemExit(main())
