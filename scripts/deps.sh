#!/usr/bin/env bash
# Installs what `make test` needs and is missing. As root on Debian/Ubuntu it
# installs the packages; otherwise it prints exactly what to install and fails.
set -euo pipefail

pkgs=()
pg_bin=/usr/lib/postgresql/15/bin
[ -x "$pg_bin/postgres" ] || pkgs+=(postgresql-15)
ls /usr/lib/postgresql/15/lib/pgaudit.so >/dev/null 2>&1 || pkgs+=(postgresql-15-pgaudit)
[ -d /usr/share/postgresql/15/extension ] && [ -f /usr/share/postgresql/15/extension/dblink.control ] || pkgs+=(postgresql-contrib)
command -v gcc >/dev/null 2>&1 || pkgs+=(gcc)
# MariaDB with its server_audit plugin: the MySQL-family integration and
# posture tests start a real server (internal/mytest).
{ [ -x /usr/sbin/mariadbd ] && [ -f /usr/lib/mysql/plugin/server_audit.so ]; } || pkgs+=(mariadb-server)
for extra in ${VIGIL_EXTRA_PACKAGES:-}; do pkgs+=("$extra"); done

if [ ${#pkgs[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing ${pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  exit 0
fi
echo "deps: missing packages: ${pkgs[*]}" >&2
echo "deps: install them with:  sudo apt-get install ${pkgs[*]}" >&2
echo "deps: (PostgreSQL 15 with pgaudit and MariaDB with server_audit are needed by the integration tests; they fail without them.)" >&2
exit 1
