#!/bin/sh
# Re-records robfig-v3.0.1.json from real robfig/cron v3.0.1 (Debian golang-github-robfig-cron-dev).
set -eu
cd "$(dirname "$0")"
node cases.mjs > cases.json
TZ=UTC GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="${GOCACHE:-/tmp/robfig-gocache}" GOFLAGS= go run ./robfig-next < cases.json > robfig-v3.0.1.json
