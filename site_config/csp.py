"""Content-Security-Policy and the other response headers for pages people see.

The policy allows scripts and styles from our own origin only. The few inline
blocks the templates keep on purpose (the "js" class set before first paint,
the standalone 500 page's style) are allowed by hash, computed here from the
template files themselves, so editing one never silently breaks it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from csp.constants import NONE, SELF
from django.utils.cache import patch_cache_control

_TEMPLATES = Path(__file__).resolve().parent / "templates"
# Bare inline blocks (no src attribute, no template tags inside).
_INLINE = {
    "script": re.compile(r"<script>(.*?)</script>", re.S),
    "style": re.compile(r"<style>(.*?)</style>", re.S),
}


def inline_hashes(tag: str, *templates: str) -> list[str]:
    """CSP source expressions ('sha256-…') for every bare inline ``tag`` block in ``templates``."""
    found = []
    for name in templates:
        for body in _INLINE[tag].findall((_TEMPLATES / name).read_text(encoding="utf-8")):
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            found.append(f"'sha256-{digest}'")
    return found


def policy() -> dict:
    """The ``CONTENT_SECURITY_POLICY`` setting of django-csp 4."""
    return {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF, *inline_hashes("script", "base.html")],
            "style-src": [SELF, *inline_hashes("style", "500.html")],
            "img-src": [SELF, "data:"],
            "font-src": [SELF],
            "connect-src": [SELF],
            "form-action": [SELF],
            "frame-ancestors": [NONE],
            "base-uri": [SELF],
            "object-src": [NONE],
        }
    }


# Nothing the portal does needs these browser features; deny them to any script.
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(self), "
    "geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), "
    "picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), usb=(), xr-spatial-tracking=()"
)


class PrivacyHeadersMiddleware:
    """Permissions-Policy on every response; ``Cache-Control: private, no-store`` on
    every response to a signed-in member (each such page shows personal data: a name,
    a cédula, a voting place, referrals) and on the admin, so neither a shared proxy
    nor the browser's disk cache keeps a copy."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        personal = (user is not None and user.is_authenticated) or request.path.startswith("/admin/")
        if personal and "no-store" not in response.headers.get("Cache-Control", ""):
            patch_cache_control(response, private=True, no_store=True)
        return response
