"""Bodies of the campaign actions, the preview and the deliveries as the API shows them."""

from __future__ import annotations

import msgspec

from nexus_core.domain.deliveries import Delivery, DeliveryStatus
from nexus_core.use_cases.campaign_actions import Preview
from nexus_http.schemas.common import PaginationOut, rfc3339
from nexus_http.schemas.contacts import ContactOut


class ScheduleIn(msgspec.Struct):
    """``scheduled_at``: RFC 3339 with its offset, in the future."""

    scheduled_at: str | None = None


class PreviewOut(msgspec.Struct):
    message: str
    subject: str | None
    sample_contact: ContactOut | None
    total_recipients: int

    @classmethod
    def of(cls, preview: Preview) -> PreviewOut:
        sample = preview.sample_contact
        return cls(
            message=preview.message,
            subject=preview.subject,
            sample_contact=None if sample is None else ContactOut.of(sample),
            total_recipients=preview.total_recipients,
        )


class PreviewEnvelope(msgspec.Struct):
    preview: PreviewOut


class DeliveryOut(msgspec.Struct):
    id: int
    contact_id: int | None
    to: str
    status: DeliveryStatus
    error: str | None
    attempts: int
    provider_message_id: str | None
    updated_at: str | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            contact_id=delivery.contact_id,
            to=delivery.to,
            status=delivery.status,
            error=delivery.error,
            attempts=delivery.attempts,
            provider_message_id=delivery.provider_message_id,
            updated_at=rfc3339(delivery.updated_at),
        )


class DeliveryList(msgspec.Struct):
    deliveries: list[DeliveryOut]
    pagination: PaginationOut
