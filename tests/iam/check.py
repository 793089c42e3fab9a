"""Checks recorded AWS calls against the IAM policies of deploy/template.yaml.

    python tests/iam/check.py --template deploy/template.yaml --calls calls.jsonl --run run.json

`calls.jsonl` is what tests/iam/recorder.py wrote; `run.json` says what the template's names
stood for in that run and which calls are negative controls:

    {"physical": {"partition": "aws", "region": "...", "account": "...", "stack": "...",
                  "refs": {"Table": "..."}, "attrs": {"Table.Arn": "...", ...}},
     "table_keys": {"<table>": "PK"}, "index_keys": [["<table>", "GSI1", "GSI1PK"]],
     "identities": {"authz": ["role", "AuthzRole"], "mcp": ["role", "McpRole"],
                    "admin": ["managed-policy", "AdminCliPolicy"]},
     "negative_controls": [{"identity": "mcp", "action": "dynamodb:GetItem", "leading_key": "..."}]}

Every call must be allowed, except the negative controls, which must be refused. Exit status 0
when that holds, 1 otherwise (each refused call is printed with the statements that should
cover it), 2 when the template or a call cannot be evaluated.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import policy  # noqa: E402


def run_check(template_path: Path, calls: list[dict], run: dict, out=sys.stdout) -> int:
    template = policy.load_template(template_path)
    physical = policy.Physical(**run["physical"])
    resolver = policy.Resolver(template, physical)
    identities = {}
    for name, (kind, logical) in run["identities"].items():
        if kind == "role":
            identities[name] = policy.role_identity(template, resolver, name, logical)
        elif kind == "managed-policy":
            identities[name] = policy.managed_policy_identity(template, resolver, name, logical)
        else:
            raise policy.Unsupported(f"identity kind {kind}")
    keys = policy.key_policies(template, resolver)
    names = policy.Names(
        physical.partition, physical.region, physical.account,
        dict(run["table_keys"]), {(t, i): a for t, i, a in run["index_keys"]},
    )
    root = f"arn:{physical.partition}:iam::{physical.account}:root"
    controls = run.get("negative_controls", [])
    control_seen = [False] * len(controls)

    refused: dict[tuple, dict] = {}
    allowed: set[tuple] = set()
    unknown_identity = set()
    for call in calls:
        identity = identities.get(call["identity"])
        if identity is None:
            unknown_identity.add(call["identity"])
            continue
        for request in policy.requests_of(call, names):
            leading = tuple(request.context.get("dynamodb:LeadingKeys", []))
            decision = policy.evaluate(identity, request, keys, root)
            is_control = [
                i for i, c in enumerate(controls)
                if c["identity"] == identity.name and c["action"] == request.action and c["leading_key"] in leading
            ]
            if is_control:
                for i in is_control:
                    if decision.allowed:
                        print(f"iam: FAILED negative control: {identity.name} {request.describe()} was ALLOWED by "
                              f"{', '.join(decision.by)}; the template must refuse it", file=out)
                        return 1
                    control_seen[i] = True
                    print(f"iam: negative control refused as it must be: {identity.name} {request.describe()} "
                          f"({decision.why})", file=out)
                continue
            # Group by the partition key's prefix (up to the last '#'): one line per kind of item.
            kinds = tuple(sorted({k.rsplit("#", 1)[0] + "#…" if "#" in k else k for k in leading}))
            group = (identity.name, request.action, request.resource, kinds)
            if decision.allowed:
                allowed.add(group)
                continue
            entry = refused.setdefault(group, {"count": 0, "request": request, "why": decision.why,
                                               "nearest": policy.nearest(identity, request)})
            entry["count"] += 1
    if unknown_identity:
        print(f"iam: calls from identities the run does not map to the template: {sorted(unknown_identity)}", file=out)
        return 2
    missing = [controls[i] for i, seen in enumerate(control_seen) if not seen]
    if missing:
        print(f"iam: FAILED: negative control(s) never recorded: {missing}", file=out)
        return 1
    if refused:
        print(f"iam: FAILED: {sum(e['count'] for e in refused.values())} recorded calls "
              f"({len(refused)} kinds) would be refused on AWS by {template_path}:", file=out)
        for (who, action, resource, kinds), entry in sorted(refused.items()):
            print(f"  {who}: {action} on {resource}" + (f" LeadingKeys {list(kinds)}" if kinds else "")
                  + f" x{entry['count']}: {entry['why']}", file=out)
            print(f"      should be covered by: {entry['nearest']}", file=out)
        return 1
    by_identity: dict[str, int] = {}
    for who, *_ in allowed:
        by_identity[who] = by_identity.get(who, 0) + 1
    print(f"iam: {len(calls)} recorded calls, {len(allowed)} distinct (identity, action, resource, item kind), "
          f"all allowed by {template_path} ({', '.join(f'{k} {v}' for k, v in sorted(by_identity.items()))})", file=out)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", required=True, type=Path)
    parser.add_argument("--calls", required=True, type=Path)
    parser.add_argument("--run", required=True, type=Path)
    args = parser.parse_args()
    calls = [json.loads(line) for line in args.calls.read_text().splitlines() if line.strip()]
    run = json.loads(args.run.read_text())
    try:
        return run_check(args.template, calls, run)
    except (policy.Unsupported, KeyError) as error:
        print(f"iam: cannot evaluate: {type(error).__name__}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
