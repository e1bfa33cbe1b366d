"""Captcha solvers against the replica's 2captcha stand-in (real HTTP, no mocks)."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from scrapers.captcha import CaptchaError, NoCaptchaSolver, TwoCaptchaSolver, build_solver

SITEKEY = "6LcthjAgAAAAAFIQLxy52074zanHv47cIvmIHglH"
API_KEY = "sk-test-9f8e7d6c5b4a"


def solve(solver, page_url="http://127.0.0.1/censo/consultar/"):
    async def run():
        try:
            return await solver.solve_recaptcha(sitekey=SITEKEY, page_url=page_url)
        finally:
            await solver.aclose()

    return asyncio.run(run())


@pytest.fixture
def service(replica, replica_clean):
    """The replica's 2captcha stand-in, accepting our key and answering at once."""
    replica.set(captcha_key=API_KEY, captcha_delay=0)
    return replica


def solver_for(replica, **kwargs):
    return TwoCaptchaSolver(api_key=API_KEY, server=replica.captcha_server, polling_interval=0.05, **kwargs)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_captcha_solver_gets_a_token_from_the_service(service):
    token = solve(solver_for(service), page_url=service.wsp_url)

    assert isinstance(token, str)
    assert len(token) > 20


def test_more_solves_at_once_than_the_connection_pool_holds_all_get_their_token(service):
    """A worker has hundreds of solves in flight on 32 connections (8 kept alive): the polls wait
    for a connection, none fails for want of one."""
    service.set(captcha_delay=0.5)  # every solve polls at least once while the others are in flight
    solver = solver_for(service)

    async def run():
        try:
            return await asyncio.gather(
                *(solver.solve_recaptcha(sitekey=SITEKEY, page_url=service.wsp_url) for _ in range(150))
            )
        finally:
            await solver.aclose()

    tokens = asyncio.run(run())

    assert len(set(tokens)) == 150
    assert service.stats()["captcha"]["submitted"] == 150


def test_unsolvable_captcha_is_a_rejection_with_the_service_code(service):
    service.set(captcha_fail=True)

    with pytest.raises(CaptchaError) as caught:
        solve(solver_for(service))

    assert caught.value.rejected
    assert caught.value.code == "ERROR_CAPTCHA_UNSOLVABLE"
    assert "ERROR_CAPTCHA_UNSOLVABLE" in str(caught.value)


def test_unreachable_service_is_a_network_error_not_a_rejection():
    solver = TwoCaptchaSolver(
        api_key=API_KEY, server=f"http://127.0.0.1:{unused_port()}", polling_interval=0.05
    )

    with pytest.raises(CaptchaError) as caught:
        solve(solver)

    assert not caught.value.rejected
    assert caught.value.code == "NETWORK"


def test_slow_solve_gives_up_after_its_timeout(service):
    service.set(captcha_delay=30)

    with pytest.raises(CaptchaError) as caught:
        solve(solver_for(service, timeout=0.5))

    assert caught.value.code == "TIMEOUT"
    assert not caught.value.rejected


def test_api_key_never_reaches_logs_errors_or_repr(service, caplog):
    caplog.set_level(logging.DEBUG)
    solve(solver_for(service))
    service.set(captcha_fail=True)
    with pytest.raises(CaptchaError) as rejected:
        solve(solver_for(service))
    dead = TwoCaptchaSolver(
        api_key=API_KEY, server=f"http://127.0.0.1:{unused_port()}", polling_interval=0.05
    )
    with pytest.raises(CaptchaError) as network:
        solve(dead)

    # The HTTP client did log its requests (res.php carries key=...), so the check below means something.
    assert "res.php" in caplog.text
    assert API_KEY not in caplog.text
    assert API_KEY not in str(rejected.value)
    assert API_KEY not in str(network.value)
    assert API_KEY not in repr(dead)


def test_no_captcha_solver_gives_an_empty_token():
    assert solve(NoCaptchaSolver()) == ""


def test_build_solver_names_the_known_solvers():
    assert isinstance(build_solver("none"), NoCaptchaSolver)
    assert isinstance(build_solver("2captcha", api_key="k", server="http://127.0.0.1:1"), TwoCaptchaSolver)
    with pytest.raises(ValueError, match="unknown captcha solver"):
        build_solver("capsolver")
