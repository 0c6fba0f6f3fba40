"""``deepresearch chat``: a plain terminal chat, to try a model and see its speed.

Ctrl-C during an answer stops it; Ctrl-C or Ctrl-D at the prompt leaves. ``/reset`` starts over.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from deepresearch_local.engines.base import CancelToken, Finished, GenerationRequest, Sampling, TextDelta
from deepresearch_local.errors import ContextOverflow


def run(args: argparse.Namespace) -> int:
    # Like `ask`: what the flags leave open comes from the settings, then the default model.
    from deepresearch_local.cli.research import request_from_args
    from deepresearch_local.config import load_settings
    from deepresearch_local.service.engine import choose_engine, open_engine_for

    choice = choose_engine(load_settings(), request_from_args(args))
    engine = open_engine_for(choice)
    print(f"Loading {choice.base_url or engine.info.model} ...", file=sys.stderr, flush=True)
    engine.load()
    info = engine.info
    print(
        f"Ready: {info.model} on {info.backend} ({info.device}), context {info.context_tokens} tokens. "
        "Ctrl-C stops an answer, /reset starts over, Ctrl-D leaves.",
        file=sys.stderr,
    )
    messages: list[dict[str, Any]] = [{"role": "system", "content": args.system}]
    sampling = Sampling(temperature=args.temperature)
    while True:
        try:
            line = input("\n> ")
        except (EOFError, KeyboardInterrupt):
            print(file=sys.stderr)
            return 0
        if not line.strip():
            continue
        if line.strip() == "/reset":
            messages = messages[:1]
            print("(conversation cleared)", file=sys.stderr)
            continue
        if line.strip() in ("/exit", "/quit"):
            return 0
        messages.append({"role": "user", "content": line})
        request = GenerationRequest(
            messages=list(messages),
            max_tokens=args.max_tokens,
            sampling=sampling,
            enable_thinking=not args.no_think,
        )
        cancel = CancelToken()
        done: Finished | None = None
        try:
            for event in engine.generate(request, cancel):
                if isinstance(event, TextDelta):
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, Finished):
                    done = event
        except KeyboardInterrupt:
            cancel.cancel()
        except ContextOverflow as exc:
            messages.pop()
            print(f"\n{exc} Use /reset to start over.", file=sys.stderr)
            continue
        if done is None:
            print("\n(stopped)", file=sys.stderr)
            messages.pop()
            continue
        messages.append({"role": "assistant", "content": done.text})
        used = done.prompt_tokens + done.completion_tokens
        print(
            f"\n[{done.completion_tokens} tokens, {done.decode_tps:.1f} tok/s, "
            f"prefill {done.prefill_tps:.0f} tok/s, "
            f"{done.reused_tokens} reused; context {used}/{info.context_tokens}; {done.reason}]",
            file=sys.stderr,
        )
