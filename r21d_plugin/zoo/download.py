"""Download one file over HTTP(S) (or ``file://``) with urllib: a progress bar, a timeout,
retries with exponential backoff on transient errors, and resume of a partial file.

The bytes go to a partial file the caller names (``<file>.part``), which stays after a
failure, so the next attempt (or the next run) asks for the rest with an HTTP ``Range``
header; a server that answers the whole file (200) instead is read from the start. The
caller verifies the complete file and renames it.
"""
import http.client
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from typing import Optional

from tqdm import tqdm

#: Seconds a connection may stay silent before the attempt counts as failed.
TIMEOUT_ENV = 'R21D_DOWNLOAD_TIMEOUT'
#: Attempts in a row without progress before giving up.
RETRIES_ENV = 'R21D_DOWNLOAD_RETRIES'
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 5
#: Seconds before the first retry without progress; doubled on each further one.
BACKOFF = 1.0
#: HTTP statuses worth retrying: the server is busy or failing for now.
TRANSIENT_STATUSES = (408, 429, 500, 502, 503, 504)
_CHUNK = 1 << 20


class DownloadError(Exception):
    """The file cannot be downloaded (no network, an HTTP error, retries exhausted)."""


class _Transient(Exception):
    """A failure that another attempt may not meet."""


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        raise DownloadError(f'{name}={os.environ[name]!r} is not a number') from None


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _open(url: str, offset: int, timeout: float):
    import r21d_plugin

    headers = {'User-Agent': f'r21d_plugin/{r21d_plugin.__version__}'}
    if offset:
        headers['Range'] = f'bytes={offset}-'
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and offset:  # nothing after offset: the part is whole
            return None
        if error.code in TRANSIENT_STATUSES:
            raise _Transient(f'HTTP {error.code} {error.reason}') from None
        raise DownloadError(f'HTTP {error.code} {error.reason}') from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (socket.timeout, TimeoutError, ConnectionResetError,
                               ConnectionAbortedError)):
            raise _Transient(str(reason)) from None
        raise DownloadError(str(getattr(reason, 'strerror', None) or reason)) from None
    except (OSError, http.client.HTTPException) as error:  # timeouts, resets, bad replies
        raise _Transient(f'{type(error).__name__}: {error}') from None


def _attempt(url: str, part: str, timeout: float, progress: bool) -> None:
    """One request: the rest of ``part`` (or all of it); raises ``_Transient`` when the
    connection fails or ends early."""
    offset = _size(part)
    response = _open(url, offset, timeout)
    if response is None:
        return  # the caller's digest check tells a whole part from a wrong one
    with response:
        status = getattr(response, 'status', None) or 200  # file:// answers no status
        content_range = response.headers.get('Content-Range', '')
        if status == 206 and content_range.startswith(f'bytes {offset}-'):
            mode = 'ab'
        else:  # a server that ignores Range sends the whole file
            mode, offset = 'wb', 0
        length = response.headers.get('Content-Length')
        total = offset + int(length) if length and length.isdigit() else None
        with open(part, mode) as file, tqdm(
                total=total, initial=offset, unit='B', unit_scale=True, unit_divisor=1024,
                desc=os.path.basename(part)[:-len('.part')] or 'download', file=sys.stderr,
                disable=None if progress else True, leave=False) as bar:
            try:
                for chunk in iter(lambda: response.read(_CHUNK), b''):
                    file.write(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as error:
                raise _Transient(f'the connection broke ({type(error).__name__}: '
                                 f'{error})') from None
            finally:
                file.flush()
                os.fsync(file.fileno())
    if total is not None and _size(part) != total:
        raise _Transient(f'the connection closed after {_size(part)} of {total} bytes')


def download(url: str, part: str, progress: bool = True,
             timeout: Optional[float] = None, retries: Optional[int] = None) -> None:
    """Download ``url`` into ``part``, continuing what ``part`` already holds.

    An attempt that fails after receiving bytes is resumed at once; attempts in a row that
    receive nothing wait ``BACKOFF`` seconds, then twice as long each time, up to
    ``retries`` (``$R21D_DOWNLOAD_RETRIES``, default 5) of them.

    Raises:
        DownloadError: the host cannot be reached, the server refuses the file (HTTP 4xx),
            or transient failures continued through every retry.
    """
    timeout = timeout or _env_number(TIMEOUT_ENV, DEFAULT_TIMEOUT)
    retries = int(_env_number(RETRIES_ENV, DEFAULT_RETRIES) if retries is None else retries)
    idle = 0
    while True:
        before = _size(part)
        try:
            _attempt(url, part, timeout, progress)
            return
        except _Transient as error:
            idle = 0 if _size(part) > before else idle + 1
            if idle > retries:
                raise DownloadError(f'{error} (after {retries} retries)') from None
            delay = BACKOFF * 2**(idle - 1) if idle else 0.0
            print(f'{url}: {error}; ' + (f'retrying in {delay:g} s' if delay
                                         else f'resuming at byte {_size(part)}'),
                  file=sys.stderr)
            time.sleep(delay)
