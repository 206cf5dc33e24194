"""One real city per database for the whole session: a node process and the API, shared
by the end-to-end modules (each city costs ~20 s of onboarding transactions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.trust_api.harness import PG_URL, City, start_city


def _city(kind: str, factory: pytest.TempPathFactory) -> Iterator[City]:
    if kind == "postgresql" and not PG_URL:
        pytest.skip("set CITYCHAIN_TEST_DATABASE_URL to run on PostgreSQL")
    yield from start_city(kind, factory.mktemp(f"city-{kind}"))


@pytest.fixture(scope="session")
def sqlite_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    yield from _city("sqlite", tmp_path_factory)


@pytest.fixture(scope="session")
def postgresql_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    yield from _city("postgresql", tmp_path_factory)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city(request: pytest.FixtureRequest) -> City:
    """The session's city on each database (modules needing more set it up on top)."""
    return request.getfixturevalue(f"{request.param}_city")  # type: ignore[no-any-return]
