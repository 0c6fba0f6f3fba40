"""A run that writes steps until it is killed (driven by test_durability).

Usage: ``python -m tests.store.steps_writer DB RUN_ID``. On start it replays its last stored
step the way a resumed agent might (the store must refuse it), then adds steps from the next
index on, printing ``committed N`` after each ``add_step`` returns.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from deepresearch_local.store import SessionStore


def payload(index: int) -> dict[str, Any]:
    """The data of step ``index``: derived from the index, of varying size (up to ~10 KB)."""
    digest = hashlib.sha256(str(index).encode()).hexdigest()
    return {"i": index, "text": digest * (1 + index % 160), "note": "étape"}


def main() -> None:
    path, run_id = Path(sys.argv[1]), sys.argv[2]
    store = SessionStore(path)
    done = store.steps(run_id)
    if done:
        last = done[-1].index
        print(f"replay {last} {store.add_step(run_id, last, 'replayed', {'i': -1})}", flush=True)
    index = len(done)
    while True:
        if not store.add_step(run_id, index, "model", payload(index)):
            print(f"refused {index}", flush=True)
            return
        if index % 3 == 0:
            key = index % 7
            store.add_evidence(run_id, index, f"https://example.test/{key}", "p. 1", f"fact {key}", "", "web")
        if index % 5 == 0:
            store.add_network(run_id, "fetch", f"https://example.test/{index}", "visit", True, "")
        print(f"committed {index}", flush=True)
        index += 1


if __name__ == "__main__":
    main()
