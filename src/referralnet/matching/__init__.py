"""Matching of anonymised need profiles to services, and the privacy guard that keeps them anonymous."""
