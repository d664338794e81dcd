"""r21d-build-sports1m-annotations: r21d_plugin/cli/build_sports1m_annotations.py"""
from r21d_plugin.cli.build_sports1m_annotations import main
if __name__ == '__main__':  # not when a spawned worker imports it
    raise SystemExit(main())
