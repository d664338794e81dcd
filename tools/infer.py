"""Recognize actions in your own videos (r21d_plugin.cli.infer; also the `r21d-infer` command)."""
from r21d_plugin.cli.infer import main
raise SystemExit(main())
