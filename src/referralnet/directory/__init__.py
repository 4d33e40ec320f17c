"""The directory: organisations, their services, sites and live capacity."""
