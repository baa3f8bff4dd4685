"""``/api/contacts``: the list, one contact, bulk deletion, the counts and the CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from nexus_core.use_cases import contacts
from nexus_core.use_cases.contacts import ContactExport
from nexus_http.contact_csv import MEDIA_TYPE, csv_chunks
from nexus_http.controllers.docs import problems
from nexus_http.controllers.list_params import Page, PerPage, given_params
from nexus_http.request_context import (
    AnyRequest,
    adapters_of,
    current_session,
    current_session_in_thread,
    lookup_as_caller,
    run_write,
    say,
)
from nexus_http.schemas.common import MessageOut, PaginationOut
from nexus_http.schemas.contacts import (
    BulkDeleteIn,
    BulkDeleteOut,
    ContactEnvelope,
    ContactIn,
    ContactList,
    ContactMessageEnvelope,
    ContactOut,
    ContactStatsEnvelope,
    ContactStatsOut,
)
from nexus_http.thread_stream import iterate_in_thread

# The list's own query parameters (besides Page and PerPage), read as text and checked by the
# core, so that every bad one is reported at once, in the API's words.
Search = Annotated[
    str | None,
    QueryParameter(
        description="Substring of the name or email (case and accents ignored), or digits of "
        "the phone."
    ),
]
Status = Annotated[str | None, QueryParameter(description="`activo` or `inactivo`.")]
Tags = Annotated[
    str | None,
    QueryParameter(description="Comma-separated; keeps contacts carrying all of them."),
]
Sort = Annotated[
    str | None,
    QueryParameter(description="`name`, `-name`, `created_at` or `-created_at` (default)."),
]


def _export_filename(request: AnyRequest, timezone: str) -> str:
    today = adapters_of(request).ports.clock().astimezone(ZoneInfo(timezone)).date()
    return f"contactos-{today.isoformat()}.csv"


def _csv_file(export: ContactExport) -> Iterator[bytes]:
    with closing(export.rows):
        yield from csv_chunks(export.columns, export.rows)


class ContactsController(Controller):
    path = "/api/contacts"
    tags = ["Contacts"]

    @get(
        "/",
        summary="One page of the user's contacts, filtered and sorted",
        responses=problems(400, 401),
    )
    async def list_contacts(
        self,
        request: AnyRequest,
        page: Page = None,
        per_page: PerPage = None,
        search: Search = None,
        status: Status = None,
        tags: Tags = None,
        sort: Sort = None,
    ) -> ContactList:
        params = given_params(
            page=page, per_page=per_page, search=search, status=status, tags=tags, sort=sort
        )
        ports = adapters_of(request).ports
        found = await lookup_as_caller(
            request, lambda current: contacts.list_contacts(ports, current.user.id, params)
        )
        return ContactList(
            contacts=[ContactOut.of(contact) for contact in found.items],
            pagination=PaginationOut.of(found),
        )

    @post(
        "/",
        status_code=201,
        summary="Create a contact",
        description="`name` and a `phone` or an `email` are required. Phones without a "
        "country prefix are read with the user's `default_country`.",
        responses=problems(400, 401, 403, 409, 413, 415),
    )
    async def create_contact(
        self, request: AnyRequest, data: JSONBody[ContactIn]
    ) -> ContactMessageEnvelope:
        current = await current_session(request)
        creation = contacts.contact_creation(
            adapters_of(request).ports, current.user, data.written()
        )
        contact = await run_write(request, creation)
        return ContactMessageEnvelope(
            message=say(request, "ok.contact_created"), contact=ContactOut.of(contact)
        )

    @get(
        "/stats",
        summary="How many contacts the user has: in all, active, inactive, from the last 7 days",
        responses=problems(401),
    )
    async def stats(self, request: AnyRequest) -> ContactStatsEnvelope:
        ports = adapters_of(request).ports
        counted = await lookup_as_caller(
            request, lambda current: contacts.contact_stats(ports, current.user.id)
        )
        return ContactStatsEnvelope(stats=ContactStatsOut.of(counted))

    @get(
        "/export",
        media_type="text/csv",
        summary="Every contact matching the list's filters, as a CSV file",
        description="UTF-8 with a byte order mark; columns `name,phone,email,status,tags,"
        "notes,opted_out,created_at`; tags joined by `;`; values a spreadsheet would run as "
        "a formula (`=` `+` `-` `@`, E.164 phones included) start with `'`, which an import "
        "removes. `page` and `per_page` are ignored. Streamed as it is read.",
        responses=problems(400, 401),
    )
    async def export(
        self,
        request: AnyRequest,
        search: Search = None,
        status: Status = None,
        tags: Tags = None,
        sort: Sort = None,
    ) -> Stream:
        current = await current_session(request)
        params = given_params(search=search, status=status, tags=tags, sort=sort)
        export = contacts.export_contacts(adapters_of(request).ports, current.user.id, params)
        filename = _export_filename(request, current.user.preferences.timezone)
        return Stream(
            iterate_in_thread(lambda: _csv_file(export)),
            media_type=MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @post(
        "/bulk-delete",
        status_code=200,
        sync_to_thread=True,
        summary="Delete several contacts",
        description="Ids that are missing or not the user's are skipped and not counted.",
        responses=problems(400, 401, 403, 413, 415),
    )
    def bulk_delete(self, request: AnyRequest, data: JSONBody[BulkDeleteIn]) -> BulkDeleteOut:
        current = current_session_in_thread(request)
        deleted = contacts.delete_contacts(
            adapters_of(request).ports, current.user.id, data.contact_ids
        )
        return BulkDeleteOut(
            message=say(request, "ok.contacts_deleted", deleted_count=deleted),
            deleted_count=deleted,
        )

    @get("/{contact_id:int}", summary="One contact", responses=problems(401, 404))
    async def show(self, request: AnyRequest, contact_id: FromPath[int]) -> ContactEnvelope:
        ports = adapters_of(request).ports
        contact = await lookup_as_caller(
            request, lambda current: contacts.get_contact(ports, current.user.id, contact_id)
        )
        return ContactEnvelope(contact=ContactOut.of(contact))

    @put(
        "/{contact_id:int}",
        summary="Change any subset of a contact's writable fields",
        description='`null` or `""` clears `phone`, `email` or `notes` (one of phone and '
        "email must remain). Read-only and unknown fields are ignored.",
        responses=problems(400, 401, 403, 404, 409, 413, 415),
    )
    async def update(
        self, request: AnyRequest, contact_id: FromPath[int], data: JSONBody[ContactIn]
    ) -> ContactMessageEnvelope:
        current = await current_session(request)
        change = contacts.contact_update(
            adapters_of(request).ports, current.user, contact_id, data.written()
        )
        contact = await run_write(request, change)
        return ContactMessageEnvelope(
            message=say(request, "ok.contact_updated"), contact=ContactOut.of(contact)
        )

    @delete(
        "/{contact_id:int}",
        status_code=200,
        summary="Delete a contact",
        responses=problems(401, 403, 404),
    )
    async def remove(self, request: AnyRequest, contact_id: FromPath[int]) -> MessageOut:
        current = await current_session(request)
        deletion = contacts.contact_deletion(
            adapters_of(request).ports, current.user.id, contact_id
        )
        await run_write(request, deletion)
        return MessageOut(message=say(request, "ok.contact_deleted"))
