"""Participant links: the base URL written into them at `study create`, and whether a server answers there.

A link is BASE_URL/study/TOKEN. The base URL is the address participants open: the server's own
(`emsync study serve --host H --port P` -> http://H:P) or the public address of a proxy in front of
it. It is stored with the study so `emsync study serve` can warn when it serves a local address
that is not the one in the links.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


class BaseUrlError(ValueError):
    """A base URL that cannot make working links."""


def normalise_base_url(url: str) -> str:
    """http(s)://host[:port] without a trailing slash, or BaseUrlError saying what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BaseUrlError(f"--base-url {url!r}: expected http://HOST:PORT or https://HOST (the address participants open)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BaseUrlError(f"--base-url {url!r}: the links add /study/<token> themselves; give the address only")
    try:
        parts.port
    except ValueError:
        raise BaseUrlError(f"--base-url {url!r}: the port is not a number from 1 to 65535") from None
    return f"{parts.scheme}://{parts.netloc}"


def link(base_url: str, token: str) -> str:
    return f"{base_url}/study/{token}"


def serving_mismatch(base_url: str, host: str, port: int) -> str | None:
    """Why links with base_url will not reach a server on host:port, when both are local addresses; else None."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    if parts.hostname not in LOCAL_HOSTS or host not in LOCAL_HOSTS:
        return None  # a proxy or a public name: only the operator knows where it leads
    link_port = parts.port or (443 if parts.scheme == "https" else 80)
    if link_port != port:
        return f"its links point at {base_url}, but this server listens on port {port}"
    return None
