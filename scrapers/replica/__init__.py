"""A faithful local replica of the Registraduría's voting-place lookup (docs/replica.md).

Serves the wsp page (``/censo/consultar/``), the consultacenso page and API, a stand-in for
Google's reCAPTCHA ``api.js`` and one for 2captcha's HTTP API, plus a control endpoint for fault
injection. Start it with ``python -m scrapers.replica``. stdlib only.
"""

from .server import ReplicaServer, make_server, stop_server

__all__ = ["ReplicaServer", "make_server", "stop_server"]
