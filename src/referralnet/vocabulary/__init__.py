"""Controlled vocabulary: counties, localities, service types, exploitation forms, victim attributes."""
