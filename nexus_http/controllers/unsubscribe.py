"""``/api/unsubscribe/{token}``: the one-click unsubscribe link of campaign emails.

``GET`` (someone following the link) opts the contact out and answers a small page, in
Spanish with an English line, that loads nothing else and is never cached. ``POST`` is the
RFC 8058 one-click request a mail provider sends with ``List-Unsubscribe=One-Click`` as its
form body, without cookie or ``Origin`` (the body itself is not required: the signed token
alone decides). A token that is not valid, or names a contact deleted since, is a 404: the
same kind of page for ``GET``, a problem for ``POST``. No session is involved.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from litestar import Controller, MediaType, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from nexus_adapters.bootstrap import UNSUBSCRIBE_PATH
from nexus_core.errors import NotFound
from nexus_core.use_cases.unsubscribe import LINK_INVALID, unsubscribe
from nexus_http.controllers.docs import problems
from nexus_http.messages import translate
from nexus_http.request_context import AnyRequest, adapters_of, say
from nexus_http.schemas.common import MessageOut

_STYLE = (
    "body{margin:0;padding:3rem 1rem;font:16px/1.5 system-ui,sans-serif;"
    "background:#f5f6f8;color:#1f2328}"
    "main{max-width:32rem;margin:0 auto;padding:2rem;background:#fff;border-radius:8px;"
    "box-shadow:0 1px 3px rgba(0,0,0,.12)}"
    "h1{margin:0 0 1rem;font-size:1.4rem}p{margin:.5rem 0}.en{color:#59636e}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# Nothing but the page's own style block: no script, image, frame, form or base URL.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def _page(title: str, text: str) -> str:
    """A page with the catalogue's Spanish ``title`` and ``text``, and the English text."""
    title_es, text_es, text_en = (
        escape(translate(code, language))
        for code, language in ((title, "es"), (text, "es"), (text, "en"))
    )
    return (
        '<!doctype html><html lang="es"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{title_es}</title>'
        f"<style>{_STYLE}</style></head><body><main><h1>{title_es}</h1><p>{text_es}.</p>"
        f'<p class="en" lang="en">{text_en}.</p></main></body></html>'
    )


DONE_PAGE = _page("unsubscribe.done_title", "ok.unsubscribed")
INVALID_PAGE = _page("unsubscribe.invalid_title", LINK_INVALID)


def _html(page: str, status: int) -> Response[str]:
    return Response(page, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS)


class UnsubscribeController(Controller):
    path = UNSUBSCRIBE_PATH
    tags = ["Unsubscribe"]

    @get(
        "/{token:str}",
        sync_to_thread=True,
        media_type=MediaType.HTML,
        summary="Follow an email's unsubscribe link: opt the contact out, answer a page",
        description="Answers a small HTML page (Spanish, with an English line) saying the "
        "contact is opted out; repeating it changes nothing. Needs no session.",
        responses={
            404: ResponseSpec(
                data_container=str,
                media_type=MediaType.HTML,
                description="The link is not valid, or its contact was deleted (an HTML page)",
            )
        },
    )
    def confirm(self, request: AnyRequest, token: FromPath[str]) -> Response[str]:
        adapters = adapters_of(request)
        try:
            unsubscribe(adapters.ports, adapters.unsubscribe_tokens, token)
        except NotFound:
            return _html(INVALID_PAGE, 404)
        return _html(DONE_PAGE, 200)

    @post(
        "/{token:str}",
        status_code=200,
        sync_to_thread=True,
        opt={"accepts_files": True},  # a form body (RFC 8058), not JSON
        summary="One-click unsubscribe (RFC 8058) from a mail provider",
        description="The body a mail provider sends is `List-Unsubscribe=One-Click` "
        "(`application/x-www-form-urlencoded`); it is not required. Works without a cookie "
        "or an `Origin` header; repeating it changes nothing.",
        responses=problems(403, 404),
    )
    def one_click(self, request: AnyRequest, token: FromPath[str]) -> MessageOut:
        adapters = adapters_of(request)
        unsubscribe(adapters.ports, adapters.unsubscribe_tokens, token)
        return MessageOut(message=say(request, "ok.unsubscribed"))
