"""``deepresearch paths``: where everything lives."""

from __future__ import annotations

import argparse

from deepresearch_local.cli.output import print_json, table
from deepresearch_local.paths import HOME_ENV, get_paths


def run(args: argparse.Namespace) -> int:
    paths = get_paths().as_dict()
    if args.json:
        print_json(paths)
        return 0
    print(table(sorted(paths.items()), header=("what", "where")))
    print(f"\nSet {HOME_ENV}=DIR to keep everything under one folder.")
    return 0
