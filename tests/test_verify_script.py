"""The on-host verification script sends events the way a Sentry SDK does, and never prints a key."""

from scripts.verify_docker_host import masked, store_request

DSN = "https://0123456789abcdef0123456789abcdef@errors.example.com/7"


def test_store_url_and_auth_header_follow_the_dsn():
    url, headers = store_request(DSN)
    assert url == "https://errors.example.com/api/7/store/"
    assert "sentry_key=0123456789abcdef0123456789abcdef" in headers["X-Sentry-Auth"]


def test_a_base_url_reaches_the_same_project_through_a_tunnel():
    url, _ = store_request("http://0123456789abcdef0123456789abcdef@localhost:8080/sub/3", "http://127.0.0.1:18080")
    assert url == "http://127.0.0.1:18080/sub/api/3/store/"


def test_masked_dsn_hides_the_key():
    assert "0123456789abcdef0123456789abcdef" not in masked(DSN)
