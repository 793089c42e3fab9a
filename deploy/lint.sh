#!/usr/bin/env bash
# Lints deploy/template.yaml with the pinned cfn-lint (deploy/requirements.txt): first the SAM
# template as written, then the plain CloudFormation the SAM translator expands it into.
# Usage: deploy/lint.sh [VENV_DIR]   (default: tests/.work/cfn-venv under the repository)
# The venv is created on first use and rebuilt only when deploy/requirements.txt changes.
# Any cfn-lint error or warning fails the script.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$root/tests/.work/cfn-venv}"
requirements="$root/deploy/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [ ! -x "$venv/bin/cfn-lint" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  printf '== creating cfn-lint venv in %s\n' "$venv" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi

expanded="$(mktemp --suffix=.json)"
trap 'rm -f "$expanded"' EXIT

printf '== cfn-lint %s: deploy/template.yaml\n' "$("$venv/bin/cfn-lint" --version | awk '{print $2}')" >&2
"$venv/bin/cfn-lint" -- "$root/deploy/template.yaml"
printf '== cfn-lint: the template as expanded by the SAM translator\n' >&2
"$venv/bin/python" "$root/deploy/sam_expand.py" "$root/deploy/template.yaml" "$expanded"
"$venv/bin/cfn-lint" -- "$expanded"
printf '== template clean\n' >&2
