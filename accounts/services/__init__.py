"""Writes. One module per concern; callers import from the module, e.g.
``from accounts.services.cedulas import cedula_refresh_request``."""
