"""Where the PostgreSQL tests get their server, and what happens without one: skipped with the
reason, or failed when PUSTAKA_REQUIRE_POSTGRES=1 (as .ci/run sets it)."""

from __future__ import annotations

import pytest

from tests import pg_support


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_support, "_searched", True)
    monkeypatch.setattr(pg_support, "_server", None)
    monkeypatch.setattr(pg_support, "_reason", "no server here")


def test_without_a_server_the_tests_are_skipped_with_the_reason(
    no_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUSTAKA_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no server here"):
        pg_support.require()


def test_ci_turns_the_skip_into_a_failure(no_server: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUSTAKA_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="PUSTAKA_REQUIRE_POSTGRES=1"):
        pg_support.require()


def test_a_given_server_is_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_support, "_searched", False)
    monkeypatch.setattr(pg_support, "_server", None)
    monkeypatch.setenv("PUSTAKA_TEST_POSTGRES", "postgresql://someone@db.example/x")
    assert pg_support.server_url() == "postgresql://someone@db.example/x"
