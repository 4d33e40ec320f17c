"""Notifications through an outbox: rows written with the event, delivered by a dispatcher."""


class DeliveryError(Exception):
    """One delivery attempt failed; the message becomes the row's ``last_error`` (never a secret).

    ``permanent``: the receiver refused for good (an SMTP 5xx answer), so the row fails without retries.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
