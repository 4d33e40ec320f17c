"""Notifications through an outbox: rows written with the event, delivered by a dispatcher."""
