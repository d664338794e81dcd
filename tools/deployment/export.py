from r21d_plugin.cli.export import main

raise SystemExit(main())
