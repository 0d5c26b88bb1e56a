#!/usr/bin/env bash
# Old name of scripts/cross/win32-x64.sh (the Windows x64 cross-build with mingw-w64 and its
# checks); kept so existing commands keep working. Output: build/cross/win32-x64/.
exec bash "$(dirname "$0")/cross/win32-x64.sh" "$@"
