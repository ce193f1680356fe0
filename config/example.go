package config

// Example is a complete, commented config file: every key, with its
// default or a typical value. It is what `vigil config example` prints;
// docs/config.md carries a copy (a test keeps them equal), and it loads
// as is once VIGIL_TOKEN is set.
func Example() string { return example }

const example = `# vigil.yaml: the configuration of the Vigil daemon (vigil run -c vigil.yaml).
# Check it with: vigil config check -c vigil.yaml
# Reference: docs/config.md. Relative paths are relative to this file's directory.

# debug, info, warn or error.
log_level: info

# Where the store and the file sources' checkpoints live. Default ./vigil-data.
data_dir: /var/lib/vigil

# server.address stamped on events that lack one (sources may set their own).
server_address: db1.example.com:5432

# End of the learning period of first-seen rules (RFC 3339, or
# "YYYY-MM-DD HH:MM:SS" in UTC). Leave it out to use each rule's own period.
# learn_until: 2026-12-01 00:00:00

rules:
  # Your rule files and directories, loaded after the built-in pack
  # (see docs/rules.md). Each must exist.
  paths: []
  #  - /etc/vigil/rules.d
  # Rule lists by name: items replace the list, or extend it with append: true.
  lists:
    admin_users:
      items: [postgres, dba_alice]
    attack_tools:
      items: [my-internal-scanner]
      append: true

sources:
  # Tail PostgreSQL log files (rotation-safe, resumes where it stopped).
  - name: pg-main
    type: file
    # Glob patterns; every matching file is read.
    paths:
      - /var/log/postgresql/*.csv
    # auto, stderr, csvlog, jsonlog or events (Vigil's NDJSON events).
    format: auto
    # postgresql.conf's log_line_prefix, for stderr logs; empty detects it.
    log_line_prefix: ""
    # Time zone of timestamps written without one (MariaDB server_audit,
    # MySQL general and error logs): an IANA name, UTC or Local. Default UTC.
    timezone: UTC
    # Read gzip-compressed files that match (usually rotated copies: off).
    read_gzip: false
    # Start files that exist at the first start at their end, not their start.
    from_end: false
    # How often files are checked besides file-system notifications.
    poll_interval: 250ms
    # Longer lines are cut to this size (and counted).
    max_line_bytes: 8MiB
    # server.address for this source's events; default the top-level one.
    server_address: db1.example.com:5432

  # Receive syslog messages (PostgreSQL with log_destination = syslog).
  - name: pg-syslog
    type: syslog
    # One address or a list: udp://HOST:PORT, tcp://HOST:PORT or
    # tls://HOST:PORT. Default udp://127.0.0.1:5514.
    listen:
      - udp://127.0.0.1:5514
      - tcp://127.0.0.1:5514
    # auto, rfc5424 or rfc3164.
    format: auto
    # Certificate and key (PEM) for tls:// listeners.
    # tls:
    #   cert_file: /etc/vigil/tls/syslog.crt
    #   key_file: /etc/vigil/tls/syslog.key
    # Syslog has no authentication: listening beyond loopback needs this.
    insecure: false

  # Receive log lines POSTed to the HTTP listener (needs http below).
  - name: app-logs
    type: http
    # URL path on the HTTP listener. Default /ingest/NAME.
    path: /ingest/app-logs
    format: auto

  # Azure resource logs (or any NDJSON) from an Event Hub / Kafka topic.
  # - name: azure-db
  #   type: kafka
  #   connection_string: ${env:EVENTHUB_CONNECTION_STRING}
  #   topics: [insights-logs-postgresqllogs]
  #   group: vigil
  #   format: azure

store:
  retention:
    # Delete events (and resolved alerts) older than this; 0 keeps them.
    # Go durations (90s, 10m, 4h) and days (30d).
    max_age: 30d
    # Delete the oldest events when the store is larger; 0 does not limit.
    # Units: KB, MB, GB, TB (1000) or KiB, MiB, GiB, TiB (1024).
    max_size: 10GiB

# The API, the web UI and http sources. Leave the section out, or write
# listen: "", to turn it off.
http:
  # HOST:PORT. Default 127.0.0.1:9187 (loopback only).
  listen: 127.0.0.1:9187
  # Bearer token required for everything but /healthz, at least 16 characters.
  # A secret: inline, or ${env:NAME}, or ${file:/path/to/file} (trimmed).
  token: ${env:VIGIL_TOKEN}
  # TLS with this certificate and key (PEM). Required to listen beyond
  # loopback, unless insecure: true (e.g. behind a TLS-terminating proxy).
  # tls:
  #   cert_file: /etc/vigil/tls/vigil.crt
  #   key_file: /etc/vigil/tls/vigil.key
  insecure: false

# Where alerts are sent (docs/notify.md). Links in messages point to
# ALERT_BASE_URL/alerts/ID.
# alert_base_url: https://vigil.example.com
#
# Notifiers: each has a name (routes refer to it) and a type: slack, teams,
# pagerduty, webhook, email, syslog or ndjson. Secrets (webhook URLs,
# routing keys, passwords, signing keys) are written as ${env:NAME} or
# ${file:/path}. Every notifier also takes timeout (one attempt, default
# 10s), max_age (retry until, then give up and record it; default 1d) and
# concurrency (deliveries in flight, default 2).
# notifiers:
#   - name: slack-security
#     type: slack
#     # The incoming webhook URL: a secret.
#     url: ${env:SLACK_WEBHOOK_URL}
#   - name: teams-dba
#     type: teams
#     # The workflow's "When a Teams webhook request is received" URL.
#     url: ${env:TEAMS_WEBHOOK_URL}
#   - name: pagerduty
#     type: pagerduty
#     # Integration key of an Events API v2 integration.
#     routing_key: ${env:PAGERDUTY_ROUTING_KEY}
#   - name: soar
#     type: webhook
#     url: https://soar.example.com/hooks/vigil
#     # HMAC-SHA256 key of the X-Vigil-Signature header (16+ characters).
#     secret: ${env:VIGIL_WEBHOOK_SECRET}
#     headers:
#       X-Team: dba
#   - name: mail-dba
#     type: email
#     host: smtp.example.com
#     # starttls (port 587), tls (implicit, port 465) or none (loopback only).
#     tls: starttls
#     port: 587
#     username: vigil@example.com
#     password: ${env:SMTP_PASSWORD}
#     from: vigil@example.com
#     to: [dba@example.com]
#   - name: siem
#     type: syslog
#     # udp://, tcp:// (octet counting) or tls:// HOST:PORT.
#     address: tls://siem.example.com:6514
#     # rfc5424 (text message with structured data) or cef.
#     format: cef
#     facility: local0
#   - name: archive
#     type: ndjson
#     # A file to append alert JSON lines to, or - for standard output.
#     path: /var/log/vigil/alerts.ndjson
#
# Routes are tried in order; the first that matches an alert takes it
# (continue: true goes on to the next). Conditions: min_severity, rules
# (globs), tags, servers and databases (globs); a route without conditions
# takes every alert. Each route sends at most one message per rule and key
# (group_by, default the alert's group) per throttle window (default 15m,
# 0 = one message per new alert); the next carries the running count.
# routes:
#   - name: page
#     min_severity: critical
#     notifiers: [pagerduty, slack-security]
#     continue: true
#   - name: iam
#     rules: ["iam.*", "dcl.grant"]
#     notifiers: [soar, mail-dba]
#     throttle: 30m
#     group_by: [user.name]
#     # Held messages are sent as one summary per rule and key when quiet
#     # hours end; alerts at or above except_severity go out anyway.
#     quiet_hours: {start: "22:00", end: "07:00", timezone: Europe/Berlin, except_severity: critical}
#   - name: default
#     min_severity: medium
#     notifiers: [slack-security, teams-dba, siem, archive]
# (end of notifications)
`
