#!/bin/bash
# DeepResearch launcher for macOS. Double-click it in Finder: Terminal opens and runs `deepresearch`
# (the terminal app). DeepResearch.app runs this same file from its Resources folder.
#
# When the app is not installed yet it installs it with pipx first, from DEEPRESEARCH_SOURCE if
# set, else the wheel build_app.sh put inside DeepResearch.app, else the checkout this file belongs
# to, else deepresearch-local from PyPI. Arguments are passed on to `deepresearch`.
set -u

here="$(cd "$(dirname "$0")" && pwd)"
# Finder and Terminal may start with a short PATH: add where pipx and Homebrew put programs.
export PATH="${PIPX_BIN_DIR:+$PIPX_BIN_DIR:}$HOME/.local/bin:$PATH:/opt/homebrew/bin:/usr/local/bin"

pause() {
  printf '\n%s\nPress Return to close this window.\n' "$1"
  read -r _ || true
}

if ! command -v deepresearch >/dev/null 2>&1; then
  wheel=""
  for candidate in "$here"/wheels/deepresearch_local-*.whl; do
    [ -f "$candidate" ] && wheel="$candidate"
  done
  checkout=""
  if [ -f "$here/../../pyproject.toml" ] && [ -f "$here/../../deepresearch_local/__init__.py" ]; then
    checkout="$(cd "$here/../.." && pwd)"
  fi
  source="${DEEPRESEARCH_SOURCE:-${wheel:-${checkout:-deepresearch-local}}}"
  if ! command -v pipx >/dev/null 2>&1; then
    pause "DeepResearch is not installed, and installing it needs pipx. Install pipx (with Homebrew: brew install pipx), then open DeepResearch again."
    exit 1
  fi
  echo "First launch: installing DeepResearch with pipx from $source."
  echo "This takes a minute or two (longer on Intel Macs, where llama.cpp is compiled)."
  if ! pipx install "$source"; then
    pause "The installation failed; the messages above say why."
    exit 1
  fi
  bin_dir="$(pipx environment --value PIPX_BIN_DIR 2>/dev/null || true)"
  [ -n "$bin_dir" ] && export PATH="$bin_dir:$PATH"
fi

deepresearch "$@"
status=$?
[ "$status" -eq 0 ] || pause "deepresearch stopped with exit status $status."
exit "$status"
