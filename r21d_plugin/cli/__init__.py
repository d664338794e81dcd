"""The command-line tools: one module per tool, each with ``main(argv=None) -> int``.

Each is a console script (``setup.py``) and, in a checkout, ``tools/<tool>.py`` too:

=============================== ====================================================="""
