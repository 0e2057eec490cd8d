"""URL helpers: credentials never survive, package URLs split, local channel names."""

from __future__ import annotations

import itertools
import re

import pytest

from conda_vendor_plugin.transport.urls import (
    expand_channel,
    local_channel_name,
    redact_text,
    redact_url,
    with_credentials_of,
)

# ------------------------------------------------------------------ redact_url


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        (
            "https://conda.anaconda.org/t/tk-123-abc/conda-forge",
            "https://conda.anaconda.org/conda-forge",
        ),
        (
            "https://conda.anaconda.org/t/tk-123-abc/conda-forge/linux-64/repodata.json",
            "https://conda.anaconda.org/conda-forge/linux-64/repodata.json",
        ),
        ("https://repo.example.com/t/secret", "https://repo.example.com"),
        ("https://user:pass@repo.example.com/chan", "https://repo.example.com/chan"),
        ("https://user@repo.example.com/chan", "https://repo.example.com/chan"),
        ("https://user:p%40ss@repo.example.com/chan", "https://repo.example.com/chan"),
        ("https://user:p@ss@repo.example.com:8443/chan", "https://repo.example.com:8443/chan"),
        (
            "https://user:pass@repo.example.com/t/tok/chan/noarch/a-1-0.conda",
            "https://repo.example.com/chan/noarch/a-1-0.conda",
        ),
        ("http://127.0.0.1:8080/t/secret123/pixi", "http://127.0.0.1:8080/pixi"),
        ("http://user:pw@127.0.0.1:8080/c?x=1#frag", "http://127.0.0.1:8080/c?x=1#frag"),
        # no credentials: unchanged
        ("https://conda.anaconda.org/conda-forge", "https://conda.anaconda.org/conda-forge"),
        # local paths carry no credentials: a directory named 't' is just a directory
        ("file:///home/t/channels/x", "file:///home/t/channels/x"),
        ("file:///srv/channels/t/x", "file:///srv/channels/t/x"),
        ("/home/t/channels/x", "/home/t/channels/x"),
        ("./t/x", "./t/x"),
        ("conda-forge", "conda-forge"),
        ("conda-forge/label/dev", "conda-forge/label/dev"),
        ("", ""),
        # a 't' path segment that is not followed by a token is left alone
        ("https://repo.example.com/tools/chan", "https://repo.example.com/tools/chan"),
        ("https://repo.example.com/at/b", "https://repo.example.com/at/b"),
    ],
)
def test_redact_url(url: str, clean: str) -> None:
    assert redact_url(url) == clean
    assert redact_url(clean) == clean, "redaction is idempotent"


@pytest.mark.parametrize(
    "url",
    [
        "https://conda.anaconda.org/t/SECRET/c",
        "https://u:SECRET@h/c",
        "https://SECRET@h/c",
        "https://u:SECRET@h/t/SECRET/c/noarch/x.conda",
        "HTTPS://u:SECRET@H/T/x",
    ],
)
def test_no_secret_survives(url: str) -> None:
    assert "SECRET" not in redact_url(url)


def test_token_without_scheme_is_removed() -> None:
    assert redact_url("repo.example.com/t/abc/chan") == "repo.example.com/chan"


# ------------------------------------------------------------------ redact_text


def test_redact_text_cleans_every_url_in_a_message() -> None:
    message = (
        "HTTP 401 for https://user:hunter2@repo.example.com/t/tok-1/chan/linux-64/repodata.json"
        " (also tried 'http://tok-2@mirror.example.com/chan'); see <https://docs.example.com>\n"
        "second line: ftp://u:hunter3@files.example.com/x"
    )
    out = redact_text(message)
    for secret in ("hunter2", "tok-1", "tok-2", "hunter3", "user"):
        assert secret not in out
    assert out == (
        "HTTP 401 for https://repo.example.com/chan/linux-64/repodata.json"
        " (also tried 'http://mirror.example.com/chan'); see <https://docs.example.com>\n"
        "second line: ftp://files.example.com/x"
    )


def test_redact_text_leaves_text_without_urls_alone() -> None:
    text = "nothing: to see here @ all /t/ok\n  - versioned[version='<1.0']"
    assert redact_text(text) == text


# ------------------------------------------------------------------ with_credentials_of


@pytest.mark.parametrize(
    ("url", "channel", "expected"),
    [
        # Under its channel: the channel's own prefix comes back, token in place.
        (
            "https://repo.example/chan/noarch/a-1-0.conda",
            "https://repo.example/t/tk-1/chan",
            "https://repo.example/t/tk-1/chan/noarch/a-1-0.conda",
        ),
        (
            "https://repo.example/chan/noarch/a-1-0.conda",
            "https://u:pw@repo.example/chan/",
            "https://u:pw@repo.example/chan/noarch/a-1-0.conda",
        ),
        # Anywhere but under the channel (a CEP 15 base_url on a CDN, a lockfile's URL on
        # another host, port or scheme, a path beside the channel's or one that climbs
        # out of it): no credentials at all (conda's rule for tokens).
        (
            "https://cdn.example/flat/a-1-0.conda",
            "https://repo.example/t/tk-1/chan",
            "https://cdn.example/flat/a-1-0.conda",
        ),
        (
            "https://cdn.example/flat/a-1-0.conda",
            "https://u:pw@repo.example/chan",
            "https://cdn.example/flat/a-1-0.conda",
        ),
        (
            "https://repo.example:8443/chan/noarch/a-1-0.conda",
            "https://u:pw@repo.example/t/tk-1/chan",
            "https://repo.example:8443/chan/noarch/a-1-0.conda",
        ),
        (
            "http://repo.example/chan/noarch/a-1-0.conda",
            "https://u:pw@repo.example/t/tk-1/chan",
            "http://repo.example/chan/noarch/a-1-0.conda",
        ),
        (
            "https://repo.example/chan2/noarch/a-1-0.conda",
            "https://u:pw@repo.example/t/tk-1/chan",
            "https://repo.example/chan2/noarch/a-1-0.conda",
        ),
        (
            "https://repo.example/chan/../other/noarch/a-1-0.conda",
            "https://repo.example/t/tk-1/chan",
            "https://repo.example/chan/../other/noarch/a-1-0.conda",
        ),
        (
            "https://repo.example/chan/%2e%2e/other/noarch/a-1-0.conda",
            "https://repo.example/t/tk-1/chan",
            "https://repo.example/chan/%2e%2e/other/noarch/a-1-0.conda",
        ),
        # The same place spelled with its default port or another case: under it.
        (
            "https://REPO.example:443/chan/noarch/a-1-0.conda",
            "https://repo.example/t/tk-1/chan",
            "https://repo.example/t/tk-1/chan/noarch/a-1-0.conda",
        ),
        # No credentials: nothing changes.
        (
            "https://cdn.example/flat/a-1-0.conda",
            "https://repo.example/chan",
            "https://cdn.example/flat/a-1-0.conda",
        ),
        (
            "file:///srv/t/chan/noarch/a-1-0.conda",
            "file:///srv/t/chan",
            "file:///srv/t/chan/noarch/a-1-0.conda",
        ),
    ],
)
def test_with_credentials_of(url: str, channel: str, expected: str) -> None:
    assert with_credentials_of(url, channel) == expected
    assert redact_url(with_credentials_of(url, channel)) == redact_url(expected)


# ------------------------------------------------------------------ expand_channel


def test_expand_channel() -> None:
    assert expand_channel("conda-forge", "linux-64") == ("https://conda.anaconda.org/conda-forge",)
    assert expand_channel("conda-forge", "linux-64", "http://127.0.0.1:9/") == (
        "http://127.0.0.1:9/conda-forge",
    )
    assert expand_channel("nodefaults", "linux-64") == ()
    assert expand_channel("defaults", "linux-64") == (
        "https://repo.anaconda.com/pkgs/main",
        "https://repo.anaconda.com/pkgs/r",
    )
    assert expand_channel("defaults", "win-64")[-1] == "https://repo.anaconda.com/pkgs/msys2"
    assert expand_channel("https://h/c/", "linux-64") == ("https://h/c",)
    assert expand_channel("/srv/chan", "linux-64") == ("file:///srv/chan",)


# ------------------------------------------------------------------ local_channel_name

NAME = re.compile(r"^local_[A-Za-z0-9][A-Za-z0-9._\-]*$")


@pytest.mark.parametrize(
    ("channel", "name"),
    [
        ("conda-forge", "local_conda-forge"),
        ("bioconda", "local_bioconda"),
        ("https://conda.anaconda.org/conda-forge", "local_conda.anaconda.org_conda-forge"),
        ("https://repo.example/a/b", "local_repo.example_a_b"),
        ("https://user:pw@repo.example/t/tok/a/b", "local_repo.example_a_b"),
        ("file:///srv/mirror/channels/internal", "local_channels_internal"),
        ("conda-forge/label/dev", "local_conda-forge_label_dev"),
    ],
)
def test_local_channel_name_is_readable(channel: str, name: str) -> None:
    assert local_channel_name(channel) == name


DISTINCT_CHANNELS = [
    "conda-forge",
    "bioconda",
    "defaults",
    "conda-forge/label/dev",
    "https://conda.anaconda.org/conda-forge",
    "https://conda.anaconda.org/bioconda",
    "https://repo.anaconda.com/pkgs/main",
    "https://repo.anaconda.com/pkgs/r",
    "https://repo.anaconda.com/pkgs/msys2",
    "http://127.0.0.1:8080/pixi-dummy_channel_1",
    "http://127.0.0.1:8081/pixi-dummy_channel_1",
    "file:///srv/a/channel",
    "file:///srv/b/channel",
    "file:///srv/channel",
]


@pytest.mark.parametrize("channel", DISTINCT_CHANNELS)
def test_local_channel_name_is_a_safe_directory_name(channel: str) -> None:
    name = local_channel_name(channel)
    assert NAME.match(name), name
    assert "/" not in name and ":" not in name and "@" not in name


def test_local_channel_name_never_shows_credentials() -> None:
    for channel in (
        "https://user:SECRET@repo.example/chan",
        "https://repo.example/t/SECRET/chan",
    ):
        assert "SECRET" not in local_channel_name(channel)


def test_local_channel_name_is_the_same_with_or_without_credentials() -> None:
    assert local_channel_name("https://u:p@repo.example/t/tok/chan") == local_channel_name(
        "https://repo.example/chan"
    )


def test_local_channel_names_differ_for_common_distinct_channels() -> None:
    names = [local_channel_name(c) for c in DISTINCT_CHANNELS]
    clashes = [
        (a, b)
        for (a, na), (b, nb) in itertools.combinations(zip(DISTINCT_CHANNELS, names), 2)
        if na == nb
    ]
    assert clashes == []


COLLIDING = [  # pairs that local_channel_name maps to one name
    # file:// channels keep only their last two path components
    ("file:///home/alice/mirror/conda-forge", "file:///home/bob/mirror/conda-forge"),
    # '/' and '_' both become '_'
    ("https://repo.example/a/b", "https://repo.example/a_b"),
    # the port separator and a path separator both become '_'
    ("http://repo.example:8080/chan", "http://repo.example/8080/chan"),
    # a bare name and a URL-derived name share one namespace
    ("repo.example_chan", "https://repo.example/chan"),
]


@pytest.mark.parametrize(("a", "b"), COLLIDING)
def test_channels_of_one_environment_never_share_a_directory(a: str, b: str) -> None:
    """``local_channel_name`` alone can collide; ``local_names`` (what vendor uses) cannot."""
    from conda_vendor_plugin.bundle.plan import local_names

    def url(c: str) -> str:
        return c if "://" in c else f"https://conda.anaconda.org/{c}"

    names = local_names([(a, url(a)), (b, url(b))])
    assert len(set(names.values())) == 2


def test_an_index_s_credentials_go_to_its_host_only():
    from conda_vendor_plugin.transport.urls import with_userinfo_of

    indexes = ["https://alice:s3cret@pkgs.example.com/simple/", "https://other.example.com/"]
    on_host = "https://pkgs.example.com/packages/ab/cd/idna-3.20-py3-none-any.whl"
    assert with_userinfo_of(on_host, indexes) == (
        "https://alice:s3cret@pkgs.example.com/packages/ab/cd/idna-3.20-py3-none-any.whl"
    )
    for elsewhere in (
        "https://files.example.org/idna-3.20-py3-none-any.whl",  # another host
        "http://pkgs.example.com/idna-3.20-py3-none-any.whl",  # another scheme
        "https://pkgs.example.com:8443/idna-3.20-py3-none-any.whl",  # another port
        "https://pkgs.example.com.evil.org/idna-3.20-py3-none-any.whl",
    ):
        assert with_userinfo_of(elsewhere, indexes) == elsewhere
    assert with_userinfo_of("https://bob:pw@files.example.org/x.whl", indexes) == (
        "https://files.example.org/x.whl"
    )
