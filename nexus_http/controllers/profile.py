"""``/api/profile``: profile and settings, API key status, password change, account deletion."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post, put
from litestar.params import JSONBody

from nexus_core.use_cases import accounts, profile
from nexus_http.controllers.docs import problems
from nexus_http.request_context import (
    AnyRequest,
    adapters_of,
    client_address,
    current_session,
    current_session_in_thread,
    say,
)
from nexus_http.schemas.common import MessageOut
from nexus_http.schemas.users import (
    ApiKeys,
    ApiKeysEnvelope,
    ChangePasswordIn,
    DeleteAccountIn,
    ProfileIn,
    UserEnvelope,
    UserMessageEnvelope,
    UserOut,
)
from nexus_http.session_cookie import expired_cookie


class ProfileController(Controller):
    path = "/api/profile"
    tags = ["Profile and settings"]

    @get("/", summary="The user's profile and settings", responses=problems(401))
    async def show(self, request: AnyRequest) -> UserEnvelope:
        current = await current_session(request)
        return UserEnvelope(user=UserOut.of(current.user))

    @put(
        "/",
        sync_to_thread=True,
        summary="Change any subset of the profile's writable fields",
        description=(
            '`*_api_key`: the mask leaves the key unchanged, `""` or `null` clears it, '
            "anything else replaces it. `email` and read-only fields are ignored."
        ),
        responses=problems(400, 401, 403, 413, 415),
    )
    def update(self, request: AnyRequest, data: JSONBody[ProfileIn]) -> UserMessageEnvelope:
        current = current_session_in_thread(request)
        user = profile.update_profile(adapters_of(request).ports, current.user.id, data.changes())
        return UserMessageEnvelope(
            message=say(request, "ok.profile_updated"), user=UserOut.of(user)
        )

    @get(
        "/api-keys",
        summary="Which channel credentials are configured, masked",
        responses=problems(401),
    )
    async def api_keys(self, request: AnyRequest) -> ApiKeysEnvelope:
        current = await current_session(request)
        return ApiKeysEnvelope(api_keys=ApiKeys.of(current.user))

    @post(
        "/change-password",
        status_code=200,
        sync_to_thread=True,
        summary="Change the password; every other session is revoked",
        description="A wrong current password is a 400 (the client stays logged in).",
        responses=problems(400, 401, 403, 413, 415, 429),
    )
    def change_password(self, request: AnyRequest, data: JSONBody[ChangePasswordIn]) -> MessageOut:
        accounts.change_password(
            adapters_of(request).ports,
            current_session_in_thread(request),
            current_password=data.current_password,
            new_password=data.new_password,
            client_address=client_address(request),
        )
        return MessageOut(message=say(request, "ok.password_changed"))

    @delete(
        "/delete-account",
        status_code=200,
        sync_to_thread=True,
        summary="Delete the account and everything it owns",
        description="A wrong password is a 400; wrong passwords count towards the lockout.",
        responses=problems(400, 401, 403, 413, 415, 429),
    )
    def delete_account(
        self, request: AnyRequest, data: JSONBody[DeleteAccountIn]
    ) -> Response[MessageOut]:
        accounts.delete_account(
            adapters_of(request).ports,
            current_session_in_thread(request),
            password=data.password,
            client_address=client_address(request),
        )
        return Response(
            MessageOut(message=say(request, "ok.account_deleted")),
            cookies=[expired_cookie(adapters_of(request).settings)],
        )
