#!/usr/bin/env bash
# DeepResearch launcher for Linux desktops: runs `deepresearch` (the terminal app) in the terminal
# the desktop opens for it (deepresearch.desktop has Terminal=true). When the app is not installed
# yet it installs it with pipx first, from DEEPRESEARCH_SOURCE if set, else from the checkout this
# launcher belongs to, else deepresearch-local from PyPI.
#
#   deepresearch-launcher.sh [ARGS...]    run the app (ARGS go to `deepresearch`)
#   deepresearch-launcher.sh --install    put this launcher, the menu entry and the icon under
#                                         ~/.local (XDG_DATA_HOME), so the app shows in the menu
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
default_source="deepresearch-local"  # --install writes the checkout's folder here
if [ -f "$here/../../pyproject.toml" ] && [ -f "$here/../../deepresearch_local/__init__.py" ]; then
  default_source="$(cd "$here/../.." && pwd)"  # run from a clone: install that clone
fi
export PATH="${PIPX_BIN_DIR:+$PIPX_BIN_DIR:}$HOME/.local/bin:$PATH"

pause() {
  # Keep the terminal window open long enough to read what went wrong.
  printf '\n%s\nPress Enter to close this window.\n' "$1"
  read -r _ || true
}

sed_escape() { printf '%s' "$1" | sed 's/[&|\\]/\\&/g'; }

install_entry() {
  # The installed launcher remembers this checkout (if any) as where to install the app from.
  local data="${XDG_DATA_HOME:-$HOME/.local/share}" bin="$HOME/.local/bin"
  mkdir -p "$bin" "$data/applications" "$data/icons/hicolor/scalable/apps"
  sed "s|^default_source=.*|default_source=\"$(sed_escape "$default_source")\"|" \
    "$here/deepresearch-launcher.sh" >"$bin/deepresearch-launcher"
  chmod 755 "$bin/deepresearch-launcher"
  sed "s|^Exec=.*|Exec=\"$(sed_escape "$bin/deepresearch-launcher")\"|" "$here/deepresearch.desktop" \
    >"$data/applications/deepresearch.desktop"
  if [ -f "$here/../assets/deepresearch.svg" ]; then
    install -m 644 "$here/../assets/deepresearch.svg" "$data/icons/hicolor/scalable/apps/deepresearch.svg"
  fi
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" 2>/dev/null
  echo "Installed: $data/applications/deepresearch.desktop (runs $bin/deepresearch-launcher)"
}

if [ "${1:-}" = "--install" ]; then
  install_entry
  exit 0
fi

if ! command -v deepresearch >/dev/null 2>&1; then
  source="${DEEPRESEARCH_SOURCE:-$default_source}"
  if ! command -v pipx >/dev/null 2>&1; then
    pause "DeepResearch is not installed, and installing it needs pipx. Install pipx (Debian/Ubuntu: sudo apt install pipx; elsewhere: python3 -m pip install --user pipx), then start DeepResearch again."
    exit 1
  fi
  echo "First start: installing DeepResearch with pipx from $source."
  echo "This takes a few minutes: llama.cpp is compiled for this computer."
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
