"""/api/unsubscribe/{token}: following an email's link (GET, an HTML page) and the RFC 8058
one-click POST opt the contact out, on SQLite and on PostgreSQL; a link that is not valid is a
404 and changes nothing."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest
from sqlalchemy.engine import URL

from nexus_adapters.bootstrap import Adapters
from nexus_core.domain.unsubscribe_links import UnsubscribeTokens
from nexus_http.controllers.unsubscribe import CONTENT_SECURITY_POLICY
from tests.http.support import (
    EVIL_ORIGIN,
    AppFactory,
    Client,
    assert_problem,
    registered,
    session_token,
    with_cookie,
    without_origin,
)
from tests.postgres import empty_public_schema

ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DONE_ES = "Te has dado de baja: no recibirás más mensajes de esta lista."
DONE_EN = "You have been unsubscribed: you will receive no more messages from this list"
INVALID_ES = "Este enlace de baja no es válido o ya no está disponible"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest, make_client: AppFactory) -> Client:
    """A client of an app on SQLite, then on an empty PostgreSQL database, logged in as Ana."""
    if request.param == "sqlite":
        client = make_client()
    else:
        url: URL = request.getfixturevalue("postgres_session_url")
        empty_public_schema(url)
        client = make_client(database_url=url.render_as_string(hide_password=False), db_pool_size=4)
    registered(client)
    return client


def adapters(client: Client) -> Adapters:
    found: Adapters = client.app.state.adapters
    return found


def create(client: Client, **fields: Any) -> dict[str, Any]:
    body = {"name": "Luis Pérez", "email": "luis@example.com", **fields}
    response = client.post("/api/contacts", json=body)
    assert response.status_code == 201, response.text
    contact: dict[str, Any] = response.json()["contact"]
    return contact


def link(client: Client, contact: dict[str, Any]) -> str:
    """The path of ``contact``'s unsubscribe link, as the dispatcher signs it."""
    token = adapters(client).unsubscribe_tokens.issue(contact["user_id"], contact["id"])
    return f"/api/unsubscribe/{token}"


def read(client: Client, contact: dict[str, Any]) -> dict[str, Any]:
    response = client.get(f"/api/contacts/{contact['id']}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["contact"]
    return found


def assert_page(response: Any, status: int) -> str:
    """A self-contained HTML page that no one caches."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    page: str = response.text
    assert page.startswith("<!doctype html>")
    for external in ("<script", "<img", "<link", "src=", "href=", "http://", "https://"):
        assert external not in page
    return page


# --- GET: following the link --------------------------------------------------------------


def test_following_the_link_opts_out_and_shows_a_page(client: Client) -> None:
    contact = create(client)
    assert [c["opted_out"] for c in client.get("/api/contacts").json()["contacts"]] == [False]

    page = assert_page(client.get(link(client, contact)), 200)

    assert '<html lang="es">' in page
    assert "<title>Baja confirmada</title>" in page
    assert DONE_ES in page
    assert f'<p class="en" lang="en">{DONE_EN}.</p>' in page
    # Visible at once, to the one contact and to the cached pages of the list.
    assert read(client, contact)["opted_out"] is True
    assert [c["opted_out"] for c in client.get("/api/contacts").json()["contacts"]] == [True]


def test_the_page_is_the_same_whatever_the_language_and_needs_no_session(
    client: Client,
) -> None:
    contact = create(client)
    path = link(client, contact)
    client.cookies.clear()
    page = assert_page(client.get(path, headers={"Accept-Language": "en"}), 200)
    assert DONE_ES in page
    assert DONE_EN in page


def test_following_it_again_changes_nothing(client: Client) -> None:
    contact = create(client)
    path = link(client, contact)
    assert client.get(path).status_code == 200
    once = read(client, contact)

    assert_page(client.get(path), 200)
    assert client.post(path, content=ONE_CLICK, headers=FORM).status_code == 200
    assert read(client, contact) == once


def test_a_contact_opted_out_already_gets_the_same_page(client: Client) -> None:
    contact = create(client, opted_out=True)
    assert DONE_ES in assert_page(client.get(link(client, contact)), 200)
    assert read(client, contact) == contact


# --- POST: RFC 8058 one-click ---------------------------------------------------------------


def test_one_click_post_opts_out_without_cookie_or_origin(client: Client) -> None:
    contact = create(client)
    ana = session_token(client)
    path = link(client, contact)
    without_origin(client).cookies.clear()

    response = client.post(path, content=ONE_CLICK, headers=FORM)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": DONE_ES.removesuffix(".")}
    with_cookie(client, ana)
    assert read(client, contact)["opted_out"] is True


def test_one_click_post_answers_in_english_when_preferred(client: Client) -> None:
    path = link(client, create(client))
    without_origin(client).cookies.clear()
    response = client.post(path, content=ONE_CLICK, headers={**FORM, "Accept-Language": "en"})
    assert response.json() == {"message": DONE_EN}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"content": b"", "headers": {}}, id="no-body"),
        pytest.param(
            {"files": {"List-Unsubscribe": (None, "One-Click")}, "headers": {}}, id="multipart"
        ),
    ],
)
def test_one_click_post_does_not_need_the_form_body(client: Client, body: dict[str, Any]) -> None:
    contact = create(client)
    ana = session_token(client)
    path = link(client, contact)
    without_origin(client).cookies.clear()
    assert client.post(path, **body).status_code == 200
    with_cookie(client, ana)
    assert read(client, contact)["opted_out"] is True


def test_one_click_post_from_a_foreign_origin_is_refused_like_any_other(client: Client) -> None:
    contact = create(client)
    ana = session_token(client)
    path = link(client, contact)
    client.cookies.clear()
    response = client.post(path, content=ONE_CLICK, headers={**FORM, "Origin": EVIL_ORIGIN})
    assert_problem(response, 403)
    with_cookie(client, ana)
    assert read(client, contact)["opted_out"] is False


# --- links that are not valid ---------------------------------------------------------------


def tampered(path: str) -> list[str]:
    """The link with one character changed, cut short, lengthened, and with garbage."""
    token = path.rsplit("/", 1)[1]
    flipped = "A" if token[5] != "A" else "B"
    return [
        token[:5] + flipped + token[6:],
        token[:-1],
        token + "A",
        "not-a-token",
        "%3Cscript%3E",
    ]


def test_a_tampered_link_is_a_404_page_and_changes_nothing(client: Client) -> None:
    contact = create(client)
    for token in tampered(link(client, contact)):
        page = assert_page(client.get(f"/api/unsubscribe/{token}"), 404)
        assert "<title>Enlace no válido</title>" in page
        assert INVALID_ES in page
        assert "<script>" not in page
    assert read(client, contact) == contact


def test_a_tampered_one_click_post_is_a_404_problem_and_changes_nothing(client: Client) -> None:
    contact = create(client)
    ana = session_token(client)
    path = link(client, contact)
    without_origin(client).cookies.clear()
    for token in tampered(path):
        response = client.post(f"/api/unsubscribe/{token}", content=ONE_CLICK, headers=FORM)
        body = assert_problem(response, 404)
        assert body["error"] == INVALID_ES
    english = client.post(
        f"/api/unsubscribe/{tampered(path)[0]}",
        content=ONE_CLICK,
        headers={**FORM, "Accept-Language": "en"},
    )
    assert assert_problem(english, 404)["error"] == (
        "This unsubscribe link is not valid or no longer available"
    )
    with_cookie(client, ana)
    assert read(client, contact) == contact


def test_a_link_signed_under_another_secret_key_is_a_404(client: Client) -> None:
    contact = create(client)
    foreign = UnsubscribeTokens("o" * 64).issue(contact["user_id"], contact["id"])
    assert_page(client.get(f"/api/unsubscribe/{foreign}"), 404)
    assert read(client, contact) == contact


def test_the_link_of_a_deleted_contact_is_no_longer_valid(client: Client) -> None:
    contact = create(client)
    path = link(client, contact)
    assert client.delete(f"/api/contacts/{contact['id']}").status_code == 200
    assert INVALID_ES in assert_page(client.get(path), 404)
    without_origin(client).cookies.clear()
    assert_problem(client.post(path, content=ONE_CLICK, headers=FORM), 404)


def test_another_users_contact_cannot_be_reached_by_editing_ids(client: Client) -> None:
    anas = create(client)
    ana = session_token(client)
    client.cookies.clear()
    bob = registered(client, email="bob@example.com", name="Bob")
    bobs = create(client, name="Of Bob", email="of.bob@example.com")

    # Ana's link with the ids swapped for Bob's (the tag kept) is not a link.
    token = link(client, anas).rsplit("/", 1)[1]
    raw = base64.urlsafe_b64decode(token + "==")
    for user_id, contact_id in [(bob["id"], bobs["id"]), (anas["user_id"], bobs["id"])]:
        edited = struct.pack(">BII", raw[0], user_id, contact_id) + raw[9:]
        edited_token = base64.urlsafe_b64encode(edited).rstrip(b"=").decode()
        assert_page(client.get(f"/api/unsubscribe/{edited_token}"), 404)
    # Even signed, a pair whose contact is not that user's names nothing.
    signed = adapters(client).unsubscribe_tokens.issue(anas["user_id"], bobs["id"])
    assert_page(client.get(f"/api/unsubscribe/{signed}"), 404)

    assert read(client, bobs) == bobs
    with_cookie(client, ana)
    assert read(client, anas) == anas


def test_the_openapi_document_describes_both_methods(client: Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    operations = paths["/api/unsubscribe/{token}"]
    assert {"get", "post"} <= operations.keys()
    assert "404" in operations["get"]["responses"]
    assert "404" in operations["post"]["responses"]
