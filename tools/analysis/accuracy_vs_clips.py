"""r21d-accuracy-vs-clips: r21d_plugin/cli/accuracy_vs_clips.py"""
from r21d_plugin.cli.accuracy_vs_clips import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
