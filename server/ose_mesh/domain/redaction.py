"""URLs as the mesh shows and logs them: no credentials, no query values, no fragment, and
no path segment that looks like a secret (webhook URLs often carry their key in the path,
as in /services/T0/B0/Xk9s8d7f6g5h4j3k2l1)."""

from __future__ import annotations

import re
from typing import overload
from urllib.parse import urlsplit, urlunsplit

HIDDEN = "***"
# A path segment this long with letters and digits mixed, or any much longer one, is a key.
_SECRET_SEGMENT = re.compile(r"(?=[^/]*[0-9])(?=[^/]*[A-Za-z])[^/]{16,}|[^/]{24,}")


@overload
def safe_url(url: str) -> str: ...
@overload
def safe_url(url: None) -> None: ...


def safe_url(url: str | None) -> str | None:
    """`url` with everything secret-looking replaced by *** (None stays None)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return HIDDEN
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port is not None else "")
    if "@" in parts.netloc:
        netloc = f"{HIDDEN}@{netloc}"
    path = "/".join(
        HIDDEN if _SECRET_SEGMENT.fullmatch(segment) else segment
        for segment in parts.path.split("/")
    )
    query = "&".join(
        f"{pair.split('=', 1)[0]}={HIDDEN}" if "=" in pair else HIDDEN
        for pair in parts.query.split("&")
        if pair
    )
    fragment = HIDDEN if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def scrub(text: str, url: str) -> str:
    """`text` (an error message about `url`) with the URL and its secret parts hidden."""
    text = text.replace(url, safe_url(url))
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    values = [pair.split("=", 1)[-1] for pair in parts.query.split("&")]
    secrets = [parts.password, parts.username, parts.query, parts.fragment, *values]
    secrets += _SECRET_SEGMENT.findall(parts.path)
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, HIDDEN)
    return text
