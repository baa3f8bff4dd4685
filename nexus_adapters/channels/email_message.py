"""The RFC 5322 message of an email campaign's ``OutboundMessage``.

``From`` is the sender's address alone, the subject is encoded (RFC 2047) when it is not ASCII,
the text body is UTF-8 in quoted-printable or base64 (7-bit clean, so no server needs
8BITMIME), and a one-click unsubscribe link becomes ``List-Unsubscribe: <link>`` with
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058). Headers that cannot be
headers (a line break in the subject) raise ``ValueError``: the domain never lets them through.
"""

from __future__ import annotations

from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from nexus_core.domain.outbound import OutboundMessage

# SMTP line endings; bodies 7-bit clean whatever the server offers. Headers set as raw values
# (``set_raw``) are written as they are (``refold_source="none"``): folded, the email package
# would turn a long unsubscribe link into encoded words, which no mail client reads as a URL.
_ASCII_POLICY = policy.SMTP.clone(cte_type="7bit", refold_source="none")
# Raw UTF-8 headers, for addresses that are not ASCII (the server offers SMTPUTF8).
_UTF8_POLICY = policy.SMTPUTF8.clone(cte_type="7bit", refold_source="none")
ONE_CLICK = "List-Unsubscribe=One-Click"


def email_message(
    sender: str, message: OutboundMessage, *, utf8: bool = False
) -> tuple[str, bytes]:
    """The ``Message-ID`` generated for the message (angle brackets included, as in the
    header) and the message's bytes."""
    message_id = make_msgid(domain=sender.rpartition("@")[2] or None)
    email = EmailMessage(policy=_UTF8_POLICY if utf8 else _ASCII_POLICY)
    email["From"] = sender
    email["To"] = message.to
    if message.subject is not None:
        _set_subject(email, message.subject, utf8=utf8)
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id
    if message.unsubscribe_url is not None:
        link = message.unsubscribe_url
        if not link.isascii() or any(c in link for c in "\r\n<> "):
            raise ValueError("an unsubscribe link must be an ASCII URL on one line")
        email.set_raw("List-Unsubscribe", f"<{link}>")
        email["List-Unsubscribe-Post"] = ONE_CLICK
    email.set_content(message.text, charset="utf-8")
    return message_id, email.as_bytes()


def _set_subject(email: EmailMessage, subject: str, *, utf8: bool) -> None:
    """A subject that is not ASCII goes in RFC 2047 encoded words made by ``Header``: the
    email package's own folding of long encoded subjects drops spaces between words."""
    if utf8 or subject.isascii():
        email["Subject"] = subject
        return
    if "\r" in subject or "\n" in subject:
        raise ValueError("a subject must be one line")
    email.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())
