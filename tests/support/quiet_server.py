"""A loopback HTTP server for tests whose clients hang up on purpose."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class QuietHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` that stays silent when a client hangs up mid-answer (the fetcher
    stopping at its size cap, a cancelled request): socketserver would print a traceback for each
    into the test run's output. Any other error in a handler is still printed."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)
