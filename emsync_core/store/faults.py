"""Which errors are the environment's fault (storage, network, permissions, a full disk) and not the input's.

Such a fault is retried with backoff and, if it persists, fails the run without blaming the video:
the next run after the cause is fixed simply does the work. Only errors a file causes by its content
(MediaError from probe or decode) may become dead letters.
"""

from __future__ import annotations

import errno

import google.api_core.exceptions as google_api
import google.auth.exceptions as google_auth
import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from emsync_core.media.errors import MediaError

# OS error numbers of a temporary or environmental condition: fixing the machine fixes the run.
ENVIRONMENT_ERRNOS = frozenset({
    errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EAGAIN, errno.EBUSY,
    errno.ETIMEDOUT, errno.ECONNRESET, errno.ECONNREFUSED, errno.ECONNABORTED, errno.ENETUNREACH, errno.ENETDOWN,
    errno.EHOSTUNREACH, errno.EPIPE, errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ESTALE, errno.ENOTDIR,
    errno.EISDIR, errno.EEXIST,
})
# google-api-core: server-side or access failures (a 404 of the input itself is not among them).
GOOGLE_FAULTS = (
    google_api.ServiceUnavailable, google_api.InternalServerError, google_api.BadGateway, google_api.GatewayTimeout,
    google_api.TooManyRequests, google_api.DeadlineExceeded, google_api.Forbidden, google_api.Unauthorized,
    google_api.RetryError, google_auth.TransportError, google_auth.RefreshError,
)
REQUESTS_FAULTS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError)


class EnvironmentFault(Exception):
    """A storage, network or permission failure that outlasted its retries; the input is not to blame."""

    def __init__(self, what: str, cause: BaseException) -> None:
        super().__init__(f"{what}: {type(cause).__name__}: {cause}")
        self.cause = cause


def is_environment_fault(exc: BaseException) -> bool:
    """True for errors of the machine, storage or network; False for errors caused by the input itself."""
    if isinstance(exc, (MediaError, EnvironmentFault)):
        return isinstance(exc, EnvironmentFault)
    if isinstance(exc, GOOGLE_FAULTS + REQUESTS_FAULTS + (ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, OSError):
        if exc.errno in ENVIRONMENT_ERRNOS:
            return True
        return exc.errno is None and "no space left" in str(exc).lower()  # pyarrow reports ENOSPC as text
    return False


def retrying(attempts: int, backoff_s: float) -> Retrying:
    """Retry environment faults `attempts` times in all, waiting backoff_s, 2*backoff_s, ... (capped at 30 s)."""
    return Retrying(retry=retry_if_exception(is_environment_fault), stop=stop_after_attempt(max(1, attempts)),
                    wait=wait_exponential(multiplier=backoff_s, max=30), reraise=True)
