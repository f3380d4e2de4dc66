"""A small run of the standing fuzzers (chaos/fuzz.py; `make chaos` runs 10,000 inputs per
surface): typed text and button payloads through the dispatcher, and bodies through both
webhooks over real HTTP. Nothing may go unhandled."""

from __future__ import annotations

from chaos.fuzz import fuzz_dispatcher, fuzz_webhooks

COUNT = 150


def test_dispatcher_inputs_never_fail_unhandled(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for surface in fuzz_dispatcher(COUNT, tmp_path):
        assert surface.tried >= COUNT * 0.9
        assert surface.failures == 0, (surface.name, surface.examples)


def test_webhook_bodies_never_fail_unhandled(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for surface in fuzz_webhooks(COUNT, tmp_path):
        assert surface.tried >= COUNT * 0.9
        assert surface.failures == 0, (surface.name, surface.examples)
