"""The HTTP session used without conda: retries, a user agent, and nothing else.

Inside conda the plugin uses conda's own session instead (auth, proxies, SSL).
``requests`` still honours ``~/.netrc``, ``user:pass@`` in URLs and the usual
``HTTPS_PROXY`` / ``REQUESTS_CA_BUNDLE`` environment variables.
"""

from __future__ import annotations

from typing import Any

from . import __version__

USER_AGENT = f"conda-vendor-plugin/{__version__}"


def make_session(retries: int = 3, pool_size: int = 16) -> Any:
    """A ``requests.Session`` retrying connection errors and 5xx with exponential backoff."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=0.2,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
    s = requests.Session()
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = USER_AGENT
    return s
