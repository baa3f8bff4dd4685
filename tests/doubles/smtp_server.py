"""A local SMTP server (aiosmtpd in a thread of its own) for the email channel's tests.

It offers AUTH (LOGIN or PLAIN, without TLS: ``auth_require_tls=False``) and accepts only
``user`` with ``password`` (535 otherwise), keeps what it accepts in ``received``, and can be
scripted per recipient: a reply to RCPT (``"550 5.1.1 No such user"``) or a behaviour at the
end of DATA (a reply such as ``"451 4.3.0 Try later"``, ``DROP`` to close the connection,
``HANG`` to answer only after ``hang_seconds``). ``DROP`` at RCPT closes the connection before
DATA. Usage::

    with SmtpDouble(user="shop@gmail.com", password="app-pass") as smtp:
        smtp.rcpt_replies["gone@example.com"] = "550 5.1.1 No such user"
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

DROP = "drop"
HANG = "hang"


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes  # the message as received, dot-unstuffed
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.content)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Handler:
    def __init__(self, double: SmtpDouble) -> None:
        self._double = double

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self._double.rcpt_replies.get(address)
        if reply == DROP:
            _close(server)
            return "421 4.4.2 Closing"
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        double = self._double
        behaviour = next(
            (double.data_replies[r] for r in envelope.rcpt_tos if r in double.data_replies), None
        )
        if behaviour not in {DROP, HANG} and behaviour is not None:
            return behaviour
        login = session.auth_data.login.decode() if session.auth_data else None
        content = envelope.original_content or b""
        double.received.append(
            ReceivedMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), content, login)
        )
        if behaviour == DROP:
            _close(server)
        elif behaviour == HANG:
            await asyncio.sleep(double.hang_seconds)
        return "250 2.0.0 Queued"


def _close(server: SMTP) -> None:
    if isinstance(server.transport, asyncio.Transport):
        server.transport.abort()  # no goodbye: the client sees the connection drop


class SmtpDouble:
    def __init__(
        self,
        user: str = "shop@gmail.com",
        password: str = "abcd efgh ijkl mnop",  # noqa: S107 (a test server's)
        *,
        offer_auth: bool = True,
        smtputf8: bool = True,
    ) -> None:
        self.user = user
        self.password = password
        self.received: list[ReceivedMail] = []
        self.rcpt_replies: dict[str, str] = {}
        self.data_replies: dict[str, str] = {}
        self.hang_seconds = 2.0
        self.port = free_port()
        # AUTH is offered but not demanded: demanding it without TLS makes aiosmtpd warn on
        # every connection. ``ReceivedMail.login`` tells whether a message came logged in.
        auth: dict[str, Any] = (
            {"authenticator": self._authenticate}
            if offer_auth
            else {"auth_require_tls": True}  # and there is no TLS: AUTH is not offered
        )
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=smtputf8,
            **{"auth_require_tls": False, **auth},
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user.encode()
            and auth_data.password == self.password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
