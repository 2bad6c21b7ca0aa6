#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run`: the whole product on this machine — vigil-console on SQLite, this device enrolled to
# it, the starter policy as the organisation's first version, then vigild in the foreground.
# Ctrl-C stops both. Re-running keeps the console's state and the enrolment.
set -euo pipefail
BIN=${BIN:?BIN=.build/<config>}
CONSOLE_STATE=${CONSOLE_STATE:-/var/lib/vigil-console}
VIGIL_STATE=${VIGIL_STATE:-/var/lib/vigil}
LISTEN=${LISTEN:-127.0.0.1:8443}
POLICY=/etc/vigil/policy.yaml

[ "$(id -u)" = 0 ] || { echo "make run needs root (the sensor, the device key)" >&2; exit 1; }
[ -f "$POLICY" ] || { install -D -m 0644 packaging/policy.example.yaml "$POLICY"; echo "installed the starter policy $POLICY"; }

"$BIN/vigil-console" serve --state "$CONSOLE_STATE" --listen "$LISTEN" > /var/log/vigil-console.log 2>&1 &
console=$!
trap 'kill $console 2>/dev/null; wait $console 2>/dev/null' EXIT
for _ in $(seq 100); do
  [ -S "$CONSOLE_STATE/admin.sock" ] && "$BIN/vigil-console" devices --state "$CONSOLE_STATE" > /dev/null 2>&1 && break
  kill -0 $console 2>/dev/null || { echo "vigil-console did not start:" >&2; cat /var/log/vigil-console.log >&2; exit 1; }
  sleep 0.1
done

if ! "$BIN/vigil-console" policy list --state "$CONSOLE_STATE" | grep -q '^v'; then
  "$BIN/vigil-console" policy push --state "$CONSOLE_STATE" packaging/policy.example.yaml --comment "the starter policy (make run)"
fi
if [ ! -f "$VIGIL_STATE/console/enrollment.json" ]; then
  token=$("$BIN/vigil-console" enroll-token --state "$CONSOLE_STATE" --team default --expires 10m)
  "$BIN/vigil" enroll "$token" --state-dir "$VIGIL_STATE"
fi

# The first admin: a one-time password, kept (0600, root) until the first login replaces it.
FIRST="$CONSOLE_STATE/first-admin-password"
if ! "$BIN/vigil-console" admin list --state "$CONSOLE_STATE" | grep -q '^admin\b'; then
  (umask 077; "$BIN/vigil-console" admin add admin --role admin --state "$CONSOLE_STATE" | tail -n1 > "$FIRST")
fi
if "$BIN/vigil-console" admin list --state "$CONSOLE_STATE" | grep -q '^admin.*one-time password'; then
  login="admin / $(cat "$FIRST")   (one-time: the first login sets your own)"
else
  rm -f "$FIRST"
  login="admin / the password you set"
fi

cat <<INFO

  console      https://$LISTEN   (self-signed; its log: /var/log/vigil-console.log)
  login        $login
  admin CLI    sudo $BIN/vigil-console devices | policy list | policy push FILE | enroll-token | revoke DEVICE | admin add NAME --role R
               (on the console's admin socket $CONSOLE_STATE/admin.sock)
  this device  $(python3 -c "import json;d=json.load(open('$VIGIL_STATE/console/enrollment.json'));print(d['deviceID'],'team',d.get('team'))")
  then         vigil status · vigil claude …

INFO
"$BIN/vigild" --policy "$POLICY" --state-dir "$VIGIL_STATE"
