"""Reads. One module per concern, e.g. ``from accounts.selectors.users import ...``."""
