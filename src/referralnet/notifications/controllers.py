"""HTTP handlers of the outbox: reading delivery state, and the organisations' webhook secrets."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.status_codes import HTTP_201_CREATED

from referralnet.accounts.guards import directory_editor
from referralnet.notifications import services
from referralnet.notifications.schemas import Channel, NotificationKind, NotificationList, NotificationStatus, WebhookSecretOut
from referralnet.params import MAX_ID, CurrentActor, CurrentClock, Id, Limit, Offset, query


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]
    guards = [directory_editor]

    @get("/", operation_id="listNotifications")
    async def list_notifications(
        self,
        actor: CurrentActor,
        status: Annotated[NotificationStatus | None, query("Only notifications in this delivery state")] = None,
        kind: Annotated[NotificationKind | None, query("Only this kind of message")] = None,
        channel: Annotated[Channel | None, query("Only this channel")] = None,
        referral_id: Annotated[int | None, query("Only messages about this referral", ge=1, le=MAX_ID)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> NotificationList:
        """Outbox rows and their delivery state (no message bodies): an NGO its own, the secretariat all."""
        return await services.list_notifications(
            actor, status=status, kind=kind, channel=channel, referral_id=referral_id, limit=limit, offset=offset
        )


class WebhookSecretController(Controller):
    path = "/api/v1/organisations"
    tags = ["notifications"]
    guards = [directory_editor]

    @post("/{org_id:int}/webhook-secret", operation_id="rotateWebhookSecret", status_code=HTTP_201_CREATED)
    async def rotate(
        self, org_id: Id, actor: CurrentActor, clock: CurrentClock, request: Request[Any, Any, Any]
    ) -> Response[WebhookSecretOut]:
        """Create or replace the organisation's webhook signing secret; it is shown in this answer only."""
        out = await services.rotate_webhook_secret(org_id, actor, clock.now(), request.app.state.settings)
        return Response(out, status_code=HTTP_201_CREATED, headers={"Cache-Control": "no-store"})
