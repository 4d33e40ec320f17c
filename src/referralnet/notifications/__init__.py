"""Notifications through an outbox: rows written with the event, delivered by a dispatcher."""


class DeliveryError(Exception):
    """One delivery attempt failed; the message becomes the row's ``last_error`` (never a secret)."""
