"""Messages to players: SMS and push through the platform's provider API, email by SMTP.

An email's Message-ID is built from its idempotency key, so a resend after a lost answer
is recognisable as the same message by the receiving side.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

from adapters.platform.http import PlatformHttp, PlatformRejected, PlatformUnavailable
from adapters.platform_api import MessageReceipt, OutboundMessage


class Messaging:
    def __init__(self, http: PlatformHttp, smtp_host: str, smtp_port: int, sender: str) -> None:
        self._http = http
        self._smtp = (smtp_host, smtp_port)
        self._sender = sender

    async def send(self, message: OutboundMessage, key: str) -> MessageReceipt:
        return await self._http.call("POST", "/messaging/messages", MessageReceipt, message, key)

    async def email(self, to: str, template: str, variables: dict[str, str], key: str) -> str:
        """Send one templated email; returns its Message-ID."""
        email = EmailMessage()
        email["From"], email["To"] = self._sender, to
        email["Subject"] = f"[{template}]"
        email["Message-ID"] = message_id(key)
        email["X-CRM-Template"] = template
        email.set_content("\n".join([f"template: {template}", *(f"{k}: {v}" for k, v in sorted(variables.items()))]))
        await asyncio.to_thread(self._deliver, email)
        return email["Message-ID"]

    def _deliver(self, email: EmailMessage) -> None:
        try:
            with smtplib.SMTP(*self._smtp, timeout=10) as smtp:
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as refused:
            raise PlatformRejected(f"email to {email['To']} refused: {refused.recipients}") from refused
        except (OSError, smtplib.SMTPException) as failed:
            raise PlatformUnavailable(f"SMTP {self._smtp[0]}:{self._smtp[1]}: {failed}") from failed


def message_id(key: str) -> str:
    """The email Message-ID for an idempotency key: the same key, the same message."""
    safe = "".join(c if c.isalnum() or c in "-._" else "." for c in key)
    return f"<{safe}@casino-crm>"
