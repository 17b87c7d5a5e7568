#!/bin/bash
# topicwire-probe PORT [PATH]: exits 0 when http://127.0.0.1:PORT/PATH (default /readyz) answers
# 200, else 1. Compose healthchecks run it inside the container; it needs only bash (no curl in
# the runtime image).
port="${1:?usage: topicwire-probe PORT [PATH]}"
path="${2:-/readyz}"
exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
read -r -t 5 _ code _ <&3 || exit 1
[ "$code" = "200" ]
