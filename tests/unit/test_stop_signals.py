"""The one cooperative stop flag shared by `run` and `sweep`."""

from __future__ import annotations

import os
import signal

import pytest

from janus_sim.adapters.stop_signals import StopFlag, never, term_interrupts


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_is_recorded_not_obeyed_and_handlers_come_back(sig: int) -> None:
    before = signal.getsignal(sig)
    with StopFlag() as flag:
        assert flag.pending() is None
        os.kill(os.getpid(), sig)  # would end the test process without the flag
        assert flag.pending() == signal.Signals(sig).name
    assert signal.getsignal(sig) == before


def test_the_first_signal_names_the_stop() -> None:
    with StopFlag() as flag:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert flag.pending() == "SIGTERM"


def test_never_is_never_raised() -> None:
    assert never() is None


def test_term_interrupts_turns_sigterm_into_keyboard_interrupt_then_restores() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), term_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()  # the handler raises before this would wait
    assert signal.getsignal(signal.SIGTERM) == before
