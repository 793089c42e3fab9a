"""Expands deploy/template.yaml with the AWS SAM translator into plain CloudFormation JSON.

Usage: python sam_expand.py TEMPLATE OUTPUT_JSON

Local CodeUri paths (the cargo-lambda zips) are replaced by placeholder S3 URIs, as `sam deploy`
does after uploading them; everything else is translated as AWS would.
"""

import json
import os
import sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The template attaches no AWS managed policies, so none need looking up."""

    def load(self):
        return {}

    def get_managed_policy_map(self):
        return {}


def main(source: str, target: str) -> int:
    template, matches = decode(source)
    if matches:
        for match in matches:
            print(match, file=sys.stderr)
        return 1
    template = json.loads(json.dumps(template))
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://placeholder-bucket/{name}.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    expanded = transform(template, {}, NoManagedPolicies())
    with open(target, "w", encoding="utf-8") as out:
        json.dump(expanded, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
