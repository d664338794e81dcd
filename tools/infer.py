"""Recognize actions in your own videos (r21d_plugin.cli.infer; also the `r21d-infer` command)."""
from r21d_plugin.cli.infer import main
if __name__ == '__main__':  # not when a decoding worker imports it
    raise SystemExit(main())
