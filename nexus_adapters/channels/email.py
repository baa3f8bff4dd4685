"""The email channel: SMTP with STARTTLS (Gmail: ``smtp.gmail.com:587``), logged in as the
user's ``gmail_address`` with its app password. One connection per message: ``smtplib`` is not
thread-safe, and a fresh session keeps the channel safe to call from several threads.

The message is built by ``email_message``. SMTP answers are classified by the phase they come
in (API.md, "Channels and delivery receipts"):

- connecting, greeting, STARTTLS, or any drop or timeout before ``DATA``: ``retryable``
  (nothing was handed over);
- login refused: 535, 534 and 530 ``bad_credentials``, 4xx ``retryable``;
- a reply code to MAIL, RCPT or DATA: 4xx ``retryable``, 5xx (550 unknown recipient)
  ``permanent``;
- a drop or timeout once ``DATA`` started: ``unknown_outcome`` (the message may have arrived).

Errors are ``smtp_<code>``, ``missing_credentials``, ``connect_failed``, ``timeout``,
``connection_lost``, ``tls_failed``, ``smtp_no_starttls``, ``smtp_no_auth`` or
``smtp_utf8_unsupported``: never the password, an address or the body.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable

from nexus_adapters.channels.email_message import email_message
from nexus_adapters.config import Settings
from nexus_core.domain.outbound import ChannelAccount, OutboundMessage, SendResult
from nexus_core.domain.retry_policy import ChannelOutcome

DEFAULT_TIMEOUT = 30.0
_LOGIN_REFUSED = frozenset({530, 534, 535})


class _Failed(Exception):
    """Ends a session early with its classified result."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result.error)
        self.result = result


class SmtpEmailChannel:
    """Sends ``email`` messages through the SMTP server at ``host:port`` (``NEXUS_SMTP_*``);
    ``starttls=False`` only for local test servers."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context_factory: Callable[[], ssl.SSLContext] = ssl.create_default_context,
    ) -> None:
        self._host = host
        self._port = port
        self._starttls = starttls
        self._timeout = timeout
        self._ssl_context_factory = ssl_context_factory

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpEmailChannel:
        return cls(settings.smtp_host, settings.smtp_port, starttls=settings.smtp_starttls)

    def send(self, account: ChannelAccount, message: OutboundMessage) -> SendResult:
        if message.channel != "email":
            raise ValueError(f"a {message.channel} message cannot go by email")
        sender, password = account.gmail_address, account.gmail_app_password
        if not sender or password is None or not password.value:
            return SendResult.failed("bad_credentials", "missing_credentials")
        try:
            return self._session(sender, password.value, message)
        except _Failed as failed:
            return failed.result

    def _session(self, sender: str, password: str, message: OutboundMessage) -> SendResult:
        smtp = self._connect()
        try:
            self._login(smtp, sender, password)
            utf8 = not (sender.isascii() and message.to.isascii())
            if utf8 and not smtp.has_extn("smtputf8"):
                return SendResult.failed("permanent", "smtp_utf8_unsupported")
            message_id, content = email_message(sender, message, utf8=utf8)
            _before_data(smtp, lambda: smtp.mail(sender, ["SMTPUTF8"] if utf8 else []))
            _before_data(smtp, lambda: smtp.rcpt(message.to))
            try:
                code, _ = smtp.data(content)
            except smtplib.SMTPResponseException as refused:  # DATA itself refused
                return _refused(refused.smtp_code)
            except (smtplib.SMTPServerDisconnected, OSError) as lost:
                smtp.close()
                return SendResult.failed("unknown_outcome", _lost(lost))
            return SendResult.sent(message_id) if code == 250 else _refused(code)
        finally:
            _quietly_quit(smtp)

    def _connect(self) -> smtplib.SMTP:
        try:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        except smtplib.SMTPConnectError as refused:
            raise _Failed(SendResult.failed("retryable", f"smtp_{refused.smtp_code}")) from None
        except TimeoutError:
            raise _Failed(SendResult.failed("retryable", "timeout")) from None
        except (smtplib.SMTPException, OSError):
            raise _Failed(SendResult.failed("retryable", "connect_failed")) from None
        if self._starttls:
            self._start_tls(smtp)
        return smtp

    def _start_tls(self, smtp: smtplib.SMTP) -> None:
        """Switch to TLS before the password is sent; a server without STARTTLS gets
        nothing (the password never travels in clear text)."""
        try:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self._ssl_context_factory())
                smtp.ehlo()
                return
            result = SendResult.failed("permanent", "smtp_no_starttls")
        except smtplib.SMTPResponseException as refused:
            result = _refused(refused.smtp_code)
        except (smtplib.SMTPException, OSError):
            result = SendResult.failed("retryable", "tls_failed")
        smtp.close()
        raise _Failed(result)

    def _login(self, smtp: smtplib.SMTP, sender: str, password: str) -> None:
        try:
            smtp.login(sender, password)
        except smtplib.SMTPAuthenticationError as refused:
            raise _Failed(_login_refused(refused.smtp_code)) from None
        except smtplib.SMTPResponseException as refused:
            raise _Failed(_refused(refused.smtp_code)) from None
        except UnicodeError:
            # smtplib sends credentials as ASCII; such a password cannot be a valid one.
            raise _Failed(SendResult.failed("bad_credentials", "smtp_535")) from None
        except smtplib.SMTPServerDisconnected as lost:
            smtp.close()
            raise _Failed(_lost_before_data(lost)) from None
        except smtplib.SMTPException:  # no AUTH, or no mechanism in common
            raise _Failed(SendResult.failed("permanent", "smtp_no_auth")) from None
        except OSError as lost:  # after SMTPException, which is one
            smtp.close()
            raise _Failed(_lost_before_data(lost)) from None


def _before_data(smtp: smtplib.SMTP, command: Callable[[], tuple[int, bytes]]) -> None:
    """Run MAIL or RCPT: a refusal or a lost connection there means nothing was handed over."""
    try:
        code, _ = command()
    except (smtplib.SMTPServerDisconnected, OSError) as lost:
        smtp.close()
        raise _Failed(_lost_before_data(lost)) from None
    if code not in {250, 251}:
        raise _Failed(_refused(code))


def _refused(code: int) -> SendResult:
    outcome: ChannelOutcome = "retryable" if 400 <= code < 500 else "permanent"
    return SendResult.failed(outcome, f"smtp_{code}")


def _login_refused(code: int) -> SendResult:
    if code in _LOGIN_REFUSED:
        return SendResult.failed("bad_credentials", f"smtp_{code}")
    return _refused(code)


def _lost_before_data(error: BaseException) -> SendResult:
    return SendResult.failed("retryable", _lost(error))


def _lost(error: BaseException) -> str:
    """``timeout`` or ``connection_lost``; smtplib turns a socket timeout while it waits for a
    reply into ``SMTPServerDisconnected``, raised while handling the timeout."""
    timed_out = isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError)
    return "timeout" if timed_out else "connection_lost"


def _quietly_quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
