"""Output paths derived from input names, kept inside the output folder, and never an input.

Tools that map the entries of an annotation file (or a folder listing) to output files,
such as flow extraction, feature extraction and inference outputs, build each output path
with :func:`safe_output_path`. An entry whose name is absolute, has a ``..`` component, is
empty, or would resolve outside the output folder through a symbolic link is refused with
an error naming the annotation file and line; nothing is then written or removed for it.
"""
import os.path as osp
from typing import Iterable, Optional


class UnsafeOutputPath(ValueError):
    """An input name would put output outside the output folder."""


class OutputIsInputError(ValueError):
    """An output file is one of the tool's inputs: writing it would destroy the input."""


def _same_file(first: str, second: str) -> bool:
    try:
        return osp.samefile(first, second)  # links and hard links too
    except OSError:  # one does not exist (yet): compare where the paths lead
        return osp.realpath(first) == osp.realpath(second)


def check_not_an_input(output: str, inputs: Iterable[Optional[str]], what: str) -> None:
    """Refuse an ``output`` that is the same file as one of ``inputs`` (None is skipped).

    Raises:
        OutputIsInputError: naming ``what`` (the flag), the output and the input.
    """
    for source in inputs:
        if source is not None and '://' not in str(source) and _same_file(output, source):
            raise OutputIsInputError(
                f'{what} {output} is the input {source}: writing it would destroy the input; '
                'choose another output file')


def _why_unsafe(relative_name: str) -> Optional[str]:
    if not relative_name or not relative_name.strip():
        return 'the name is empty'
    if '\0' in relative_name:
        return 'the name holds a NUL byte'
    if osp.isabs(relative_name) or relative_name.startswith(('/', '\\')):
        return 'the name is an absolute path'
    parts = relative_name.replace('\\', '/').split('/')
    if '..' in parts:
        return 'the name has a ".." component'
    if all(part in ('', '.') for part in parts):
        return 'the name is the output folder itself'
    return None


def safe_output_path(out_root: str, relative_name: str, source: str,
                     lineno: Optional[int] = None) -> str:
    """``out_root/relative_name``, refusing any name that would leave ``out_root``.

    Args:
        out_root (str): The output folder (need not exist yet).
        relative_name (str): The output name derived from an input entry, e.g. a video's
            path without its extension.
        source (str): Where the name comes from, for the error: the annotation file.
        lineno (int, optional): The 1-based line of ``source``. Default: None.

    Returns:
        str: The joined path (normalised), inside ``out_root`` even after following the
        symbolic links that exist now.

    Raises:
        UnsafeOutputPath: ``source:lineno: <name>: <why>; ...`` for an empty or absolute
            name, one with a ``..`` component, or one that resolves outside ``out_root``.
    """
    where = f'{source}:{lineno}' if lineno is not None else source
    why = _why_unsafe(relative_name)
    if why is None:
        path = osp.normpath(osp.join(out_root, relative_name))
        root = osp.realpath(out_root)
        if osp.commonpath([root, osp.realpath(path)]) != root:
            why = f'it resolves to {osp.realpath(path)} (a symbolic link leads out)'
    if why is not None:
        raise UnsafeOutputPath(
            f'{where}: {relative_name!r}: {why}; outputs must stay inside {out_root}, so '
            'entries must be relative paths below the input root (no "/..." or "..")')
    return path


__all__ = ['OutputIsInputError', 'UnsafeOutputPath', 'check_not_an_input', 'safe_output_path']
