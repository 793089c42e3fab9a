#!/usr/bin/env bash
# Builds the two Lambda artefacts for deploy/template.yaml:
#   target/lambda/authz/bootstrap.zip   target/lambda/mcp/bootstrap.zip
# with cargo-lambda from PyPI (pinned with its Zig in deploy/build-requirements.txt), for arm64
# (aarch64-unknown-linux-gnu; Zig links against glibc 2.17 by default), then checks that no
# binary needs a glibc newer than Amazon Linux 2023's (2.34) and prints the zip sizes.
# Usage: deploy/build.sh [--mcp-bin NAME] [VENV_DIR]   (VENV_DIR default: tests/.work/build-venv)
#   --mcp-bin NAME (or SMCP_MCP_BIN=NAME): the workspace binary built into the MCP function's
#   artefact, target/lambda/mcp/bootstrap.zip (the template's literal CodeUri, which `sam package`
#   uploads). Default mcp, the Cost Explorer server; any binary made with mcp-host, e.g.
#   hello-mcp, is deployed with McpServer=custom (deploy/README.md, "Deploy your own MCP server").
# Needs Rust (rustup) and Python 3; everything else is installed into the venv.
set -euo pipefail

mcp_bin="${SMCP_MCP_BIN:-mcp}"
if [ "${1:-}" = --mcp-bin ]; then
  mcp_bin="${2:?--mcp-bin needs a binary name}"
  shift 2
fi
if ! [[ "$mcp_bin" =~ ^[A-Za-z0-9_-]+$ ]] || [ "$mcp_bin" = authz ]; then
  echo "--mcp-bin: not an MCP server binary name: $mcp_bin" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$root/tests/.work/build-venv}"
requirements="$root/deploy/build-requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
target=aarch64-unknown-linux-gnu
max_glibc=2.34 # Amazon Linux 2023 (provided.al2023)

log() { printf '== %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/cargo-lambda" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating build venv in $venv (cargo-lambda, ziglang)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi
# cargo-lambda finds `cargo-lambda` and cargo-zigbuild finds Zig (`python3 -m ziglang`) here.
export PATH="$venv/bin:$PATH"

# cargo-lambda would otherwise ask interactively to install the target.
if command -v rustup >/dev/null 2>&1; then
  rustup target add "$target" >/dev/null
fi

cd "$root"
log "cargo lambda build --release --arm64 --bin authz --bin $mcp_bin --output-format zip"
cargo lambda build --release --arm64 --bin authz --bin "$mcp_bin" --output-format zip
if [ "$mcp_bin" != mcp ]; then
  # The template's CodeUri is literal (a parameter would not be uploaded by `sam package`):
  # the chosen server takes the mcp artefact's place. The zip holds `bootstrap` either way.
  if [ ! -s "target/lambda/$mcp_bin/bootstrap.zip" ]; then
    echo "missing target/lambda/$mcp_bin/bootstrap.zip" >&2
    exit 1
  fi
  mkdir -p target/lambda/mcp
  cp "target/lambda/$mcp_bin/bootstrap.zip" target/lambda/mcp/bootstrap.zip
  log "target/lambda/mcp/bootstrap.zip is $mcp_bin: deploy with McpServer=custom"
fi

status=0
for fn in authz mcp; do
  zip="target/lambda/$fn/bootstrap.zip"
  if [ ! -s "$zip" ]; then
    echo "missing $zip" >&2
    exit 1
  fi
  # Highest GLIBC_x.y symbol version the binary asks for, and its size.
  read -r needed size < <(python3 - "$zip" <<'PY'
import re, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    data = z.read("bootstrap")
versions = {tuple(map(int, m.groups())) for m in re.finditer(rb"GLIBC_(\d+)\.(\d+)", data)}
top = max(versions) if versions else (0, 0)
print(f"{top[0]}.{top[1]}", len(data))
PY
)
  printf '%-6s %s  zip %s bytes, binary %s bytes, needs glibc %s\n' \
    "$fn" "$zip" "$(stat -c %s "$zip")" "$size" "$needed"
  if [ "$(printf '%s\n%s\n' "$needed" "$max_glibc" | sort -V | tail -1)" != "$max_glibc" ]; then
    echo "$fn needs glibc $needed, newer than Amazon Linux 2023's $max_glibc" >&2
    status=1
  fi
done
exit "$status"
