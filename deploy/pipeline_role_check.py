"""Checks the least-privilege promises of deploy/pipeline-role.yaml (run by deploy/lint.sh):
no wildcard action and no AWS-managed policy on the deploy role; the trust policy accepts
GitHub's OIDC tokens only, for one audience and one exact subject; iam:PassRole names only the
stack's two function roles, for Lambda; and `Resource: "*"` only for the few actions that
cannot name a resource. Usage: python pipeline_role_check.py deploy/pipeline-role.yaml
"""

import sys

import yaml

# Actions whose resource does not exist yet (random ids) or that name no resource.
UNSCOPED_ALLOWED = {
    "cloudformation:ValidateTemplate",
    "cloudformation:GetTemplateSummary",
    "kms:CreateKey",
    "kms:ListAliases",
    "cognito-idp:CreateUserPool",
    "cognito-idp:DescribeUserPoolDomain",
    "secretsmanager:GetRandomPassword",
}


def loader():
    class Loader(yaml.SafeLoader):
        pass

    def construct(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return {suffix: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {suffix: loader.construct_sequence(node, deep=True)}
        return {suffix: loader.construct_mapping(node, deep=True)}

    Loader.add_multi_constructor("!", construct)
    return Loader


def as_list(value):
    return value if isinstance(value, list) else [value]


def statements(role):
    for policy in role["Properties"].get("Policies", []):
        if "If" in policy:  # a policy present under a condition: check its "true" branch
            policy = policy["If"][1]
        yield from policy["PolicyDocument"]["Statement"]


def main(path):
    template = yaml.load(open(path), Loader=loader())
    role = template["Resources"]["DeployRole"]
    problems = []
    if role["Properties"].get("ManagedPolicyArns"):
        problems.append("the role has managed policies attached")
    for statement in statements(role):
        sid = statement.get("Sid", "?")
        actions = as_list(statement["Action"])
        if statement["Effect"] != "Allow":
            continue
        for action in actions:
            if "*" in action:
                problems.append(f"{sid}: wildcard action {action}")
        if "*" in as_list(statement["Resource"]):
            for action in actions:
                if action not in UNSCOPED_ALLOWED:
                    problems.append(f"{sid}: {action} on Resource \"*\"")
        if "iam:PassRole" in actions:
            resources = [r.get("Sub", r) if isinstance(r, dict) else r
                         for r in as_list(statement["Resource"])]
            if sorted(resources) != sorted([
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${StackName}-AuthzRole-*",
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${StackName}-McpRole-*",
            ]):
                problems.append(f"{sid}: iam:PassRole on {resources}")
            passed_to = statement.get("Condition", {}).get("StringEquals", {})
            if passed_to.get("iam:PassedToService") != "lambda.amazonaws.com":
                problems.append(f"{sid}: iam:PassRole not limited to Lambda")
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    if len(trust) != 1 or trust[0]["Action"] != "sts:AssumeRoleWithWebIdentity":
        problems.append("the trust policy must be one sts:AssumeRoleWithWebIdentity statement")
    else:
        condition = trust[0].get("Condition", {})
        exact = condition.get("StringEquals", {})
        if set(condition) != {"StringEquals"}:
            problems.append(f"the trust policy uses {sorted(condition)}, not only StringEquals")
        if exact.get("token.actions.githubusercontent.com:aud") != "sts.amazonaws.com":
            problems.append("the trust policy does not pin the token audience")
        if "token.actions.githubusercontent.com:sub" not in exact:
            problems.append("the trust policy does not pin the token subject")
    for problem in problems:
        print(f"pipeline-role: {problem}", file=sys.stderr)
    if problems:
        return 1
    print("pipeline-role: no wildcard actions, PassRole to the two function roles only, "
          "trust pinned to one repository subject and audience", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
