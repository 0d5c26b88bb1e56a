#!/bin/sh
# Installs examples/background-agent as the systemd service windows-iot-dm-agent.
#   sudo ./install.sh [--node /usr/bin/node] [--entry /opt/windows-iot-dm-agent/main.js]
#                     [-- extra agent options, e.g. --tpm-slot 0]
# Without extra options the agent reads the device connection string from
# /etc/windows-iot-dm/device.cs (create it first, mode 0600, owner root).
# A .ts entry runs through tsx (node --import tsx), from the entry's folder.
set -eu
NODE=$(command -v node || true)
ENTRY=/opt/windows-iot-dm-agent/main.js
while [ $# -gt 0 ]; do
  case "$1" in
    --node) NODE=$2; shift 2 ;;
    --entry) ENTRY=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
[ -n "$NODE" ] && [ -x "$NODE" ] || { echo "install.sh: node not found (--node PATH)" >&2; exit 1; }
[ -f "$ENTRY" ] || { echo "install.sh: no agent at $ENTRY (--entry FILE)" >&2; exit 1; }
ARGS="$*"
if [ -z "$ARGS" ]; then
  [ -f /etc/windows-iot-dm/device.cs ] || {
    echo "install.sh: /etc/windows-iot-dm/device.cs is missing (or give -- --tpm-slot N ...)" >&2
    exit 1
  }
  ARGS='--connection-string-file %d/device.cs'
fi
case "$ENTRY" in
  *.ts) ENTRY_CMD="--import tsx $ENTRY" ;;
  *) ENTRY_CMD=$ENTRY ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
UNIT=/etc/systemd/system/windows-iot-dm-agent.service
sed -e "s|@NODE@|$NODE|" -e "s|@ENTRY@|$ENTRY_CMD|" -e "s|@ARGS@|$ARGS|" \
  "$HERE/windows-iot-dm-agent.service" > "$UNIT"
if [ ! -f /etc/windows-iot-dm/device.cs ]; then
  # No connection string: the unit must not ask systemd to load one.
  sed -i '/^LoadCredential=/d' "$UNIT"
fi
case "$ENTRY" in
  *.ts) sed -i "/^\[Service\]/a WorkingDirectory=$(dirname "$ENTRY")" "$UNIT" ;;
esac
systemctl daemon-reload
systemctl enable --now windows-iot-dm-agent.service
echo "installed: systemctl status windows-iot-dm-agent; journalctl -u windows-iot-dm-agent -f"
