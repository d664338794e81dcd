"""Command-line tools: ``r21d_plugin.cli.<tool>.main(argv=None) -> int`` (exit status), run as
``tools/<tool>.py`` or the console script ``r21d-<tool>``."""
