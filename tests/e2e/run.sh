#!/usr/bin/env bash
# End-to-end test of the web console: builds kefu, starts three `kefu serve` on free loopback ports
# with throwaway data directories — local-only mode with extractive generation (the main flow),
# users with an unreachable provider (sign-in, roles, outage message), users with extractive
# generation (a compliance override) — runs the helpers' unit tests and the headless-Chromium
# script, then stops the servers.
# Needs: Debian's chromium (apt-get install -y chromium) and `npm ci` in tests/e2e.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

cargo build --quiet --bin kefu
bin="${CARGO_TARGET_DIR:-$root/target}/debug/kefu"

tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# Only the config files below configure the servers: no provider keys or KEFU_* overrides from the caller.
for v in $(env | grep -o '^KEFU_[A-Z0-9_]*' || true); do unset "$v"; done

write_config() { # NAME, then extra TOML on stdin
  mkdir -p "$tmp/$1"
  {
    cat <<TOML
[server]
addr = "127.0.0.1:0"

[storage]
data_dir = "$tmp/$1/data"

[knowledge]
dir = "$root/knowledge"

[prompts]
dir = "$root/prompts"

[rules]
dir = "$root/rules"

TOML
    cat
  } >"$tmp/$1/kefu.toml"
}

start_server() { # NAME -> sets $started to the URL the server reports once its index is built
  "$bin" serve --config "$tmp/$1/kefu.toml" >"$tmp/$1/server.log" 2>&1 &
  local pid=$! url=""
  pids+=("$pid")
  for _ in $(seq 1 600); do
    url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$tmp/$1/server.log" | head -n1 || true)"
    if [ -n "$url" ]; then
      started="$url"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "kefu serve ($1) exited before listening:" >&2
      cat "$tmp/$1/server.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "kefu serve ($1) did not report its address within 120 s:" >&2
  cat "$tmp/$1/server.log" >&2
  return 1
}

token() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# Local-only mode, extractive generation: the main flow.
write_config local </dev/null
# Users, and a provider nobody listens for with no extractive fallback: sign-in, roles, outage.
agent_token="$(token)"
compliance_token="$(token)"
write_config users <<TOML
[review]
extractive_fallback = false

[[providers]]
name = "down"
base_url = "http://127.0.0.1:1/v1"
model = "none"
api_key_env = ""
timeout_secs = 2
connect_timeout_secs = 1

[[users]]
name = "xiaomei"
role = "agent"
token_sha256 = "$(sha "$agent_token")"

[[users]]
name = "laowang"
role = "compliance"
token_sha256 = "$(sha "$compliance_token")"
TOML

# Users, extractive generation: a compliance officer overrides a blocking finding.
write_config compliance <<TOML
[[users]]
name = "laowang"
role = "compliance"
token_sha256 = "$(sha "$compliance_token")"
TOML

started=""
start_server local
url="$started"
start_server users
auth_url="$started"
start_server compliance
compliance_url="$started"
echo "kefu serve is up at $url (local-only), $auth_url (users, provider down), $compliance_url (users)"

node --test "$here/lib.test.mjs"
status=0
KEFU_URL="$url" KEFU_AUTH_URL="$auth_url" KEFU_COMPLIANCE_URL="$compliance_url" KEFU_TOKEN_AGENT="$agent_token" KEFU_TOKEN_COMPLIANCE="$compliance_token" \
  node "$here/console.mjs" || status=$?
if [ "$status" -ne 0 ]; then
  for name in local users compliance; do
    echo "--- server log ($name) ---" >&2
    tail -n 40 "$tmp/$name/server.log" >&2
  done
fi
exit "$status"
