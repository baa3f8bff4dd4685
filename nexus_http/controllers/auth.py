"""``/api/auth``: register, login, logout, me, check-session."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.types import ASGIApp

from nexus_core.use_cases import accounts
from nexus_http.controllers.docs import problems
from nexus_http.request_context import (
    AnyRequest,
    adapters_of,
    client_address,
    cookie_lifetime_seconds,
    current_session,
    optional_session,
    say,
)
from nexus_http.responses import JsonOk
from nexus_http.schemas.common import MessageOut
from nexus_http.schemas.users import (
    LoginIn,
    RegisterIn,
    SessionCheck,
    UserEnvelope,
    UserMessageEnvelope,
    UserOut,
)
from nexus_http.session_cookie import expired_cookie, session_cookie, token_of


def _logged_in(
    request: AnyRequest, result: accounts.LoggedIn, code: str, status: int
) -> Response[UserMessageEnvelope]:
    request.scope["state"]["user_id"] = result.user.id
    cookie = session_cookie(
        adapters_of(request).settings, result.token, cookie_lifetime_seconds(request)
    )
    return Response(
        UserMessageEnvelope(message=say(request, code), user=UserOut.of(result.user)),
        status_code=status,
        cookies=[cookie],
    )


class AuthController(Controller):
    path = "/api/auth"
    tags = ["Authentication"]

    @post(
        "/register",
        status_code=201,
        sync_to_thread=True,
        summary="Create an account and log in",
        responses=problems(400, 403, 409, 413, 415, 429),
    )
    def register(
        self, request: AnyRequest, data: JSONBody[RegisterIn]
    ) -> Response[UserMessageEnvelope]:
        result = accounts.register(
            adapters_of(request).ports,
            email=data.email,
            password=data.password,
            name=data.name,
            phone=data.phone,
            company=data.company,
            client_address=client_address(request),
        )
        return _logged_in(request, result, "ok.registered", 201)

    @post(
        "/login",
        status_code=200,
        sync_to_thread=True,
        summary="Log in with email and password (a fresh session every time)",
        responses=problems(400, 401, 403, 413, 415, 429),
    )
    def login(self, request: AnyRequest, data: JSONBody[LoginIn]) -> Response[UserMessageEnvelope]:
        result = accounts.login(
            adapters_of(request).ports,
            email=data.email,
            password=data.password,
            client_address=client_address(request),
        )
        return _logged_in(request, result, "ok.logged_in", 200)

    @post(
        "/logout",
        status_code=200,
        sync_to_thread=True,
        summary="Log out (revokes the session server-side; 200 without one too)",
        responses=problems(403),
    )
    def logout(self, request: AnyRequest) -> Response[MessageOut]:
        accounts.logout(adapters_of(request).ports, token_of(request))
        return Response(
            MessageOut(message=say(request, "ok.logged_out")),
            cookies=[expired_cookie(adapters_of(request).settings)],
        )

    @get(
        "/me",
        summary="The logged-in user",
        responses={200: ResponseSpec(UserEnvelope, description="The user"), **problems(401)},
    )
    async def me(self, request: AnyRequest) -> ASGIApp:
        # The hottest endpoint (the frontend asks on every page): answered without Litestar's
        # response pipeline (see nexus_http.responses).
        current = await current_session(request)
        return JsonOk(UserEnvelope(user=UserOut.of(current.user)))

    @get("/check-session", summary="Whether the request is logged in (always 200)")
    async def check_session(self, request: AnyRequest) -> SessionCheck:
        current = await optional_session(request)
        if current is None:
            return SessionCheck(authenticated=False, user=None)
        return SessionCheck(authenticated=True, user=UserOut.of(current.user))
