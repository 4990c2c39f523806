"""A local SMTP server that keeps what it receives, once per Message-ID.

Real mail systems often drop a repeated Message-ID; this one records the repeat in
`repeated_keys` so a test can see that a resend happened and was absorbed.
"""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.smtp import Envelope, Session

from adapters.reference_platform.ledger import Ledger


class SinkHandler:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        email = message_from_bytes(envelope.original_content or b"", policy=default_policy)
        key = str(email["Message-ID"] or f"<no-id-{self._ledger.new_id('mail')}>")
        record = {
            "from": envelope.mail_from, "to": list(envelope.rcpt_tos), "subject": str(email["Subject"] or ""),
            "template": str(email["X-CRM-Template"] or ""), "message_id": key,
        }
        self._ledger.once(key, "emails", record, lambda: {})
        return "250 OK"
