"""Command-line tools: each module has ``main(argv=None) -> int``, run by ``tools/<tool>.py``
and by the ``r21d-<tool>`` console scripts."""
