#!/usr/bin/env bash
# Build DeepResearch.app: double-clicking it opens Terminal running `deepresearch` (the terminal
# app), after installing it with pipx on the first launch.
#
#   packaging/macos/build_app.sh [--out DIR] [--wheel FILE | --no-wheel]
#
# By default the wheel of this checkout is built (pip wheel, no dependencies) and put inside the
# bundle, so the first launch installs exactly this version; --wheel uses a wheel you built, and
# --no-wheel leaves it out (the first launch then installs DEEPRESEARCH_SOURCE, default
# deepresearch-local). The bundle is unsigned: the first time, open it with right-click > Open.
# Runs on macOS and on Linux (the tests build the bundle there and check it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/dist"
wheel=""
bundle_wheel=1

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --wheel) wheel="$2"; shift 2 ;;
    --no-wheel) bundle_wheel=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/deepresearch_local/__init__.py")"
if [ -z "$version" ]; then
  echo "no __version__ found in $root/deepresearch_local/__init__.py" >&2
  exit 1
fi

app="$out/DeepResearch.app"
contents="$app/Contents"
rm -rf "$app"
mkdir -p "$contents/MacOS" "$contents/Resources"

if [ "$bundle_wheel" -eq 1 ]; then
  if [ -z "$wheel" ]; then
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    echo "Building the wheel of deepresearch-local $version..."
    python3 -m pip wheel --quiet --no-deps --wheel-dir "$scratch" "$root"
    wheel="$(ls "$scratch"/deepresearch_local-*.whl)"
  fi
  if [ ! -f "$wheel" ]; then
    echo "no such wheel: $wheel" >&2
    exit 1
  fi
  mkdir -p "$contents/Resources/wheels"
  cp "$wheel" "$contents/Resources/wheels/"
fi

install -m 755 "$here/DeepResearch.command" "$contents/Resources/DeepResearch.command"

cat >"$contents/MacOS/DeepResearch" <<'LAUNCHER'
#!/bin/bash
# DeepResearch.app's executable: open Terminal running the launcher kept in Resources.
resources="$(cd "$(dirname "$0")/../Resources" && pwd)"
exec open -a Terminal "$resources/DeepResearch.command"
LAUNCHER
chmod 755 "$contents/MacOS/DeepResearch"

cat >"$contents/Info.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>CFBundleDevelopmentRegion</key>
  <string>en</string>
  <key>CFBundleDisplayName</key>
  <string>DeepResearch</string>
  <key>CFBundleExecutable</key>
  <string>DeepResearch</string>
  <key>CFBundleIdentifier</key>
  <string>io.github.deepresearch-local.DeepResearch</string>
  <key>CFBundleInfoDictionaryVersion</key>
  <string>6.0</string>
  <key>CFBundleName</key>
  <string>DeepResearch</string>
  <key>CFBundlePackageType</key>
  <string>APPL</string>
  <key>CFBundleShortVersionString</key>
  <string>$version</string>
  <key>CFBundleVersion</key>
  <string>$version</string>
  <key>LSApplicationCategoryType</key>
  <string>public.app-category.productivity</string>
  <key>LSMinimumSystemVersion</key>
  <string>11.0</string>
  <key>NSHighResolutionCapable</key>
  <true/>
</dict>
</plist>
PLIST
printf 'APPL????' >"$contents/PkgInfo"

if command -v plutil >/dev/null 2>&1; then
  plutil -lint "$contents/Info.plist"
fi
echo "Built $app (deepresearch-local $version)"
