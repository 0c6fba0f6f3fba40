"""Entry point of the standalone (PyInstaller) build: the same ``main`` as the ``deepresearch`` script."""

from __future__ import annotations

import multiprocessing
import sys

from deepresearch_local.cli.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the library's file-reading workers start this executable
    sys.exit(main())
