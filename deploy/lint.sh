#!/usr/bin/env bash
# Checks the deployment files with pinned tools (deploy/requirements.txt):
#   1. cfn-lint on deploy/template.yaml as written, then on the plain CloudFormation the SAM
#      translator expands it into;
#   2. cfn-lint on deploy/pipeline-role.yaml (the GitHub Actions deploy role), and
#      deploy/pipeline_role_check.py on its least-privilege promises;
#   3. actionlint (with shellcheck) on .github/workflows/;
#   4. deploy/params_agree.py: the template's parameter constraints against the functions'
#      start-up validation (`serverless-mcp check-config`, built here with cargo).
# Usage: deploy/lint.sh [VENV_DIR]   (default: tests/.work/cfn-venv under the repository)
# The venv is created on first use and rebuilt only when deploy/requirements.txt changes.
# Any error or warning fails the script.
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
printf '== cfn-lint: deploy/pipeline-role.yaml\n' >&2
"$venv/bin/cfn-lint" -- "$root/deploy/pipeline-role.yaml"
"$venv/bin/python" "$root/deploy/pipeline_role_check.py" "$root/deploy/pipeline-role.yaml"

printf '== actionlint %s: .github/workflows\n' "$("$venv/bin/actionlint" -version | head -1)" >&2
(cd "$root" && "$venv/bin/actionlint" -shellcheck "$venv/bin/shellcheck")

printf '== parameters: template constraints against the functions (deploy/params_agree.py)\n' >&2
(cd "$root" && cargo build --locked --quiet -p serverless-mcp)
"$venv/bin/python" "$root/deploy/params_agree.py" "$root/deploy/template.yaml" \
  "$root/target/debug/serverless-mcp"
printf '== deployment files clean\n' >&2
