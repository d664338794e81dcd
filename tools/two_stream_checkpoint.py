"""r21d-two-stream-checkpoint: r21d_plugin/cli/two_stream_checkpoint.py"""
from r21d_plugin.cli.two_stream_checkpoint import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
