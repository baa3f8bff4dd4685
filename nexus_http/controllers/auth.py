"""``/api/auth``: register, login, logout, me, check-session."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody

from nexus_core.use_cases import accounts
from nexus_http.controllers.docs import problems
from nexus_http.language import preferred_language
from nexus_http.messages import translate
from nexus_http.offload import run_lookup
from nexus_http.schemas.common import MessageOut
from nexus_http.schemas.users import (
    LoginIn,
    RegisterIn,
    SessionCheck,
    UserEnvelope,
    UserMessageEnvelope,
    UserOut,
)
from nexus_http.session_cookie import (
    adapters_of,
    client_address,
    expired_cookie,
    optional_session,
    require_session,
    session_cookie,
    token_of,
)

AnyRequest = Request[Any, Any, Any]


def say(request: AnyRequest, code: str) -> str:
    return translate(code, preferred_language(request.headers.get("accept-language")))


def _logged_in(
    request: AnyRequest, result: accounts.LoggedIn, code: str, status: int
) -> Response[UserMessageEnvelope]:
    request.scope["state"]["user_id"] = result.user.id
    return Response(
        UserMessageEnvelope(message=say(request, code), user=UserOut.of(result.user)),
        status_code=status,
        cookies=[session_cookie(request, result.token)],
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
            cookies=[expired_cookie(request)],
        )

    @get("/me", summary="The logged-in user", responses=problems(401))
    async def me(self, request: AnyRequest) -> UserEnvelope:
        current = await run_lookup(request, lambda: require_session(request))
        return UserEnvelope(user=UserOut.of(current.user))

    @get("/check-session", summary="Whether the request is logged in (always 200)")
    async def check_session(self, request: AnyRequest) -> SessionCheck:
        current = await run_lookup(request, lambda: optional_session(request))
        if current is None:
            return SessionCheck(authenticated=False, user=None)
        return SessionCheck(authenticated=True, user=UserOut.of(current.user))
