"""Admin registrations of the accounts app, one module per model family."""

from accounts.admin import audit, cedula, contacts, users  # noqa: F401 — importing registers the ModelAdmins
