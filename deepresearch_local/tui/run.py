"""``deepresearch`` with no command: open the terminal app."""

from __future__ import annotations

import argparse


def main(args: argparse.Namespace | None = None) -> int:
    from deepresearch_local.service.sessions import SessionService
    from deepresearch_local.tui.app import DeepResearchApp

    service = SessionService()
    try:
        app = DeepResearchApp(service)
        app.run()
    finally:
        service.close()
    return app.return_code or 0
