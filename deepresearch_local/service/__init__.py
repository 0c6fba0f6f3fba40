"""The one front door for research runs: settings plus per-run overrides become an engine, the
tools, the agent settings and a ``Researcher``; a stored run is reopened as it was started.

The CLI, the terminal app and the benchmarks call this package; it imports only the headless
core (never ``cli``, ``tui`` or ``bench``).
"""
