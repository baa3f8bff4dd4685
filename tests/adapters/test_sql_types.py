"""``UTCDateTime``: aware UTC in, aware UTC out, whatever the database or its time zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql.engine import build_engine
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.users import Registration

MOMENT = datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)  # just before Madrid's DST jump


def test_stored_form_is_the_utc_instant(
    uow_factory: SqlUnitOfWorkFactory,
    make_registration: Callable[..., Registration],
    migrated_engine: Engine,
    dialect: str,
) -> None:
    plus_two = timezone(timedelta(hours=2))
    with uow_factory(write=True) as uow:
        uow.users.add(make_registration(), "h", MOMENT.astimezone(plus_two))
        uow.commit()
    with migrated_engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT created_at FROM users").scalar_one()
    if dialect == "sqlite":
        # Naive UTC text, so that ordering and comparisons in SQL follow time.
        assert raw == "2026-03-29 00:59:59.999999"
    else:
        assert raw == MOMENT  # timestamptz: the same instant


def test_a_non_utc_session_time_zone_changes_nothing(
    database_url: str,
    uow_factory: SqlUnitOfWorkFactory,
    make_registration: Callable[..., Registration],
    secret_box: FernetSecretBox,
    dialect: str,
) -> None:
    with uow_factory(write=True) as uow:
        user = uow.users.add(make_registration(), "h", MOMENT)
        uow.sessions.add(user.id, "d" * 64, MOMENT)
        uow.rate_counters.hit("k", MOMENT, timedelta(minutes=1))
        uow.commit()

    url = sa.make_url(database_url)
    if dialect == "postgresql":
        url = url.update_query_dict({"options": "-c timezone=America/Santiago"})
    other_engine = build_engine(url.render_as_string(hide_password=False), 2)
    try:
        with other_engine.connect() as connection:
            if dialect == "postgresql":
                assert connection.exec_driver_sql("SHOW timezone").scalar() == "America/Santiago"
        with SqlUnitOfWorkFactory(other_engine, secret_box)() as uow:
            stored = uow.users.get(user.id)
            found = uow.sessions.find_with_user("d" * 64)
            counted = uow.rate_counters.peek("k")
    finally:
        other_engine.dispose()
    assert stored is not None
    assert found is not None
    assert counted is not None
    for moment in (
        stored.created_at,
        stored.updated_at,
        found[0].created_at,
        found[0].last_seen_at,
        counted.window_started_at,
    ):
        assert moment == MOMENT
        assert moment.tzinfo is UTC


def test_naive_values_are_refused_and_none_passes(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    with uow_factory(write=True) as uow:
        user = uow.users.add(make_registration(), "h", MOMENT)
        assert user.last_login is None
        with pytest.raises(sa.exc.StatementError, match="naive"):
            uow.sessions.touch(user.id, datetime(2026, 1, 1))
    with uow_factory() as uow:
        assert uow.users.get_by_email("ana@example.com") is None
