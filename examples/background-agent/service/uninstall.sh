#!/bin/sh
# Removes the systemd service windows-iot-dm-agent (the state folder
# /var/lib/private/windows-iot-dm-agent is kept unless --purge is given).
set -eu
[ "$(id -u)" = 0 ] || { echo "uninstall.sh: run as root" >&2; exit 1; }
systemctl disable --now windows-iot-dm-agent.service 2>/dev/null || true
rm -f /etc/systemd/system/windows-iot-dm-agent.service
systemctl daemon-reload
if [ "${1:-}" = "--purge" ]; then
  rm -rf /var/lib/private/windows-iot-dm-agent /var/lib/windows-iot-dm-agent
fi
echo "removed windows-iot-dm-agent"
