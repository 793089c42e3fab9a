#!/usr/bin/env bash
# One TLS stack and one crypto library in everything the workspace builds by default (the two
# Lambda functions, serve and the admin binary): hyper 1 + rustls 0.23 on aws-lc-rs. Fails when
# the normal (non-dev) dependency graph holds ring, rustls 0.21, hyper 0.14, hyper-rustls 0.24 or
# OpenSSL, naming what pulls it in.
# The graph is resolved for the Lambda target (aarch64-unknown-linux-gnu).
# Usage: tests/deps/one_tls_stack.sh [extra cargo tree flags, e.g. --features serverless-mcp/aws-sso]
# The test command also runs it with the opt-in `aws-sso` feature and expects it to fail there
# (that feature adds ring): the check can fail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

graph="$(cargo tree --locked --workspace -e normal --target aarch64-unknown-linux-gnu --prefix none --format '{p}' "$@" | sort -u)"
forbidden="$(grep -E '^(ring v|rustls v0\.(1|20|21)\.|hyper v0\.|hyper-rustls v0\.(2[0-4])\.|openssl(-sys)? v|native-tls v)' <<<"$graph" || true)"
if [ -n "$forbidden" ]; then
  echo "one-tls-stack: the dependency graph holds a second TLS stack or crypto library:" >&2
  while read -r line; do
    [ -n "$line" ] || continue
    spec="$(awk '{print $1 "@" substr($2, 2)}' <<<"$line")"
    echo "  $line, pulled in by:" >&2
    cargo tree --locked --workspace -e normal --target aarch64-unknown-linux-gnu -i "$spec" "$@" 2>/dev/null | sed -n '2,8s/^/    /p' >&2
  done <<<"$forbidden"
  exit 1
fi
for want in 'rustls v0.23.' 'aws-lc-rs v1.' 'hyper v1.'; do
  grep -qF "$want" <<<"$graph" || { echo "one-tls-stack: expected $want in the graph" >&2; exit 1; }
done
echo "one-tls-stack: one TLS stack (hyper 1, rustls 0.23, aws-lc-rs); no ring, rustls 0.21, hyper 0.14 or OpenSSL" >&2
