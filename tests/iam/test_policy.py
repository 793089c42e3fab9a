"""Unit tests of the IAM evaluator (tests/iam/policy.py), run by tests/run.sh:

    python -m unittest discover -s tests/iam -p 'test_*.py'

Each rule the evaluator claims to model has a case that allows and one that refuses, so an
evaluator that allowed everything (or nothing) fails here before it can vouch for the template.
"""

from __future__ import annotations

import io
import sys
import textwrap
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check  # noqa: E402
import policy  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
TABLE = "t"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
ROOT_PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:root"


def identity(*statements: dict) -> policy.Identity:
    return policy.Identity("test", ROLE, policy.statements_of({"Statement": list(statements)}, "test"))


def allow(action, resource, condition=None, effect="Allow", sid="S") -> dict:
    st = {"Sid": sid, "Effect": effect, "Action": action, "Resource": resource}
    if condition:
        st["Condition"] = condition
    return st


def decide(ident: policy.Identity, action: str, resource: str, keys=None, **context) -> bool:
    request = policy.Request(action, resource, {k.replace("__", ":"): v for k, v in context.items()})
    return policy.evaluate(ident, request, keys or {}, ROOT_PRINCIPAL).allowed


LEADING = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CECACHE#*", "RATE#ce-budget#*"]}}


class Matching(unittest.TestCase):
    def test_action_wildcards_and_case(self):
        ident = identity(allow("dynamodb:Get*", TABLE_ARN))
        self.assertTrue(decide(ident, "dynamodb:GetItem", TABLE_ARN))
        self.assertTrue(decide(ident, "DynamoDB:getitem", TABLE_ARN))
        self.assertFalse(decide(ident, "dynamodb:PutItem", TABLE_ARN))

    def test_resource_wildcards_stay_within_an_arn_part(self):
        ident = identity(allow("dynamodb:Query", f"arn:aws:dynamodb:*:{ACCOUNT}:table/{TABLE}/index/*"))
        self.assertTrue(decide(ident, "dynamodb:Query", f"{TABLE_ARN}/index/GSI1"))
        self.assertFalse(decide(ident, "dynamodb:Query", TABLE_ARN))
        # A `*` in the region part does not swallow the account part.
        self.assertFalse(decide(ident, "dynamodb:Query", f"arn:aws:dynamodb:us-east-1:999999999999:table/{TABLE}/index/GSI1"))

    def test_not_action_and_not_resource(self):
        ident = identity({"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "NotResource": f"{TABLE_ARN}/index/*"})
        self.assertTrue(decide(ident, "dynamodb:GetItem", TABLE_ARN))
        self.assertFalse(decide(ident, "dynamodb:DeleteItem", TABLE_ARN))
        self.assertFalse(decide(ident, "dynamodb:GetItem", f"{TABLE_ARN}/index/GSI1"))


class Conditions(unittest.TestCase):
    def test_leading_keys_for_all_values(self):
        ident = identity(allow("dynamodb:GetItem", TABLE_ARN, LEADING))
        self.assertTrue(decide(ident, "dynamodb:GetItem", TABLE_ARN, dynamodb__LeadingKeys=["CECACHE#abc"]))
        self.assertFalse(decide(ident, "dynamodb:GetItem", TABLE_ARN, dynamodb__LeadingKeys=["GRANT#abc"]))
        # One key outside the patterns refuses the whole batch.
        self.assertFalse(decide(ident, "dynamodb:GetItem", TABLE_ARN, dynamodb__LeadingKeys=["CECACHE#a", "CLIENT#b"]))

    def test_for_all_values_holds_on_an_absent_key(self):
        # The documented pitfall: with no LeadingKeys in the request (DescribeTable, a Scan),
        # ForAllValues is vacuously true. The evaluator must reproduce it, not hide it.
        ident = identity(allow("dynamodb:*", TABLE_ARN, LEADING))
        self.assertTrue(decide(ident, "dynamodb:DescribeTable", TABLE_ARN))

    def test_for_any_value_needs_one_match(self):
        ident = identity(allow("dynamodb:BatchGetItem", TABLE_ARN, {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["REVOKED*"]}}))
        self.assertTrue(decide(ident, "dynamodb:BatchGetItem", TABLE_ARN, dynamodb__LeadingKeys=["REVOKED#1", "GRANT#2"]))
        self.assertFalse(decide(ident, "dynamodb:BatchGetItem", TABLE_ARN, dynamodb__LeadingKeys=["GRANT#2"]))
        self.assertFalse(decide(ident, "dynamodb:BatchGetItem", TABLE_ARN))

    def test_plain_operator_on_an_absent_key_does_not_hold(self):
        ident = identity(allow("s3:GetObject", "*", {"StringEquals": {"aws:SourceVpc": "vpc-1"}}))
        self.assertFalse(decide(ident, "s3:GetObject", "*"))
        self.assertTrue(decide(ident, "s3:GetObject", "*", aws__SourceVpc=["vpc-1"]))

    def test_unknown_operator_fails_loudly(self):
        ident = identity(allow("dynamodb:GetItem", TABLE_ARN, {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
        with self.assertRaises(policy.Unsupported):
            decide(ident, "dynamodb:GetItem", TABLE_ARN)


class Effects(unittest.TestCase):
    def test_explicit_deny_beats_allow(self):
        ident = identity(allow("dynamodb:*", TABLE_ARN), allow("dynamodb:DeleteItem", TABLE_ARN, effect="Deny"))
        self.assertTrue(decide(ident, "dynamodb:GetItem", TABLE_ARN))
        self.assertFalse(decide(ident, "dynamodb:DeleteItem", TABLE_ARN))

    def test_default_is_deny(self):
        self.assertFalse(decide(identity(), "dynamodb:GetItem", TABLE_ARN))

    def test_kms_key_policy_naming_the_role_allows_alone(self):
        keys = {KEY_ARN: policy.statements_of({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": ["kms:Sign"], "Resource": "*"},
        ]}, "key", resource_policy=True)}
        self.assertTrue(decide(identity(), "kms:Sign", KEY_ARN, keys))
        self.assertFalse(decide(identity(), "kms:Decrypt", KEY_ARN, keys))
        # Another key, or no key policy at all: refused even with an identity policy.
        self.assertFalse(decide(identity(allow("kms:Sign", "*")), "kms:Sign", KEY_ARN.replace("k1", "k2"), keys))

    def test_kms_root_delegation_needs_an_identity_policy(self):
        keys = {KEY_ARN: policy.statements_of({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROOT_PRINCIPAL}, "Action": ["kms:Get*"], "Resource": "*"},
        ]}, "key", resource_policy=True)}
        self.assertFalse(decide(identity(), "kms:GetPublicKey", KEY_ARN, keys))
        self.assertTrue(decide(identity(allow("kms:GetPublicKey", KEY_ARN)), "kms:GetPublicKey", KEY_ARN, keys))
        # The identity policy cannot reach past what the key policy delegates.
        self.assertFalse(decide(identity(allow("kms:*", KEY_ARN)), "kms:Sign", KEY_ARN, keys))


class Calls(unittest.TestCase):
    names = policy.Names("aws", "us-east-1", ACCOUNT, {TABLE: "PK"}, {(TABLE, "GSI1"): "GSI1PK"})

    def test_a_transaction_is_one_request_per_item(self):
        call = {"service": "dynamodb", "operation": "TransactWriteItems", "body": {"TransactItems": [
            {"Put": {"TableName": TABLE, "Item": {"PK": {"S": "GRANT#1"}, "SK": {"S": "GRANT"}}}},
            {"Update": {"TableName": TABLE, "Key": {"PK": {"S": "CODE#2"}, "SK": {"S": "CODE"}}}},
            {"ConditionCheck": {"TableName": TABLE, "Key": {"PK": {"S": "CLIENT#3"}, "SK": {"S": "CLIENT"}}}},
        ]}}
        got = [(r.action, r.context["dynamodb:LeadingKeys"]) for r in policy.requests_of(call, self.names)]
        self.assertEqual(got, [
            ("dynamodb:PutItem", ["GRANT#1"]), ("dynamodb:UpdateItem", ["CODE#2"]), ("dynamodb:ConditionCheckItem", ["CLIENT#3"]),
        ])

    def test_an_index_query_names_the_index_and_its_partition_key(self):
        call = {"service": "dynamodb", "operation": "Query", "body": {
            "TableName": TABLE, "IndexName": "GSI1", "KeyConditionExpression": "#p = :p AND #s > :a",
            "ExpressionAttributeNames": {"#p": "GSI1PK", "#s": "GSI1SK"},
            "ExpressionAttributeValues": {":p": {"S": "CLIENTS#03"}, ":a": {"S": "x"}},
        }}
        (request,) = policy.requests_of(call, self.names)
        self.assertEqual(request.resource, f"{TABLE_ARN}/index/GSI1")
        self.assertEqual(request.context["dynamodb:LeadingKeys"], ["CLIENTS#03"])

    def test_an_unknown_operation_fails_loudly(self):
        with self.assertRaises(policy.Unsupported):
            policy.requests_of({"service": "dynamodb", "operation": "Scan", "body": {"TableName": TABLE}}, self.names)


class TheTemplate(unittest.TestCase):
    """The real deploy/template.yaml: what the end-to-end stage relies on, on fixed calls."""

    RUN = {
        "physical": {
            "partition": "aws", "region": "us-east-1", "account": ACCOUNT, "stack": "s",
            "refs": {"Table": TABLE, "UserPool": "us-east-1_p"},
            "attrs": {
                "Table.Arn": TABLE_ARN, "UserPool.Arn": f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/us-east-1_p",
                "AuthzRole.Arn": f"arn:aws:iam::{ACCOUNT}:role/s-AuthzRole-X", "McpRole.Arn": f"arn:aws:iam::{ACCOUNT}:role/s-McpRole-X",
                "SigningKeyBlue.Arn": KEY_ARN, "SigningKeyGreen.Arn": KEY_ARN,
            },
        },
        "table_keys": {TABLE: "PK"},
        "index_keys": [[TABLE, "GSI1", "GSI1PK"]],
        "identities": {"authz": ["role", "AuthzRole"], "mcp": ["role", "McpRole"], "admin": ["managed-policy", "AdminCliPolicy"]},
    }

    @staticmethod
    def revocation_read(identity: str) -> dict:
        keys = [{"PK": {"S": k}, "SK": {"S": "REVOKED"}} for k in ("REVOKED#j", "REVOKEDGRANT#g", "REVOKEDCLIENT#c", "REVOKEDUSER#u")]
        return {"identity": identity, "service": "dynamodb", "operation": "BatchGetItem", "body": {"RequestItems": {TABLE: {"Keys": keys}}}}

    @staticmethod
    def kms(identity: str, operation: str) -> dict:
        return {"identity": identity, "service": "kms", "operation": operation, "body": {"KeyId": "k1"}}

    def outcome(self, template: Path, calls: list[dict], controls=()) -> tuple[int, str]:
        out = io.StringIO()
        status = check.run_check(template, calls, {**self.RUN, "negative_controls": list(controls)}, out=out)
        return status, out.getvalue()

    def test_the_mcp_role_reads_the_revocation_list(self):
        status, text = self.outcome(ROOT / "deploy/template.yaml", [self.revocation_read("mcp"), self.kms("authz", "Sign")])
        self.assertEqual(status, 0, text)

    def test_a_template_without_the_revocation_read_fails_with_the_call_named(self):
        source = (ROOT / "deploy/template.yaml").read_text()
        start = source.index("              - Sid: RevocationListRead")
        end = source.index("\n\n", start)
        broken = ROOT / "tests/.work/template-without-revocation-read.yaml"
        broken.parent.mkdir(parents=True, exist_ok=True)
        broken.write_text(source[:start] + source[end + 1:])
        status, text = self.outcome(broken, [self.revocation_read("mcp")])
        self.assertEqual(status, 1, text)
        self.assertIn("mcp: dynamodb:BatchGetItem", text)
        self.assertIn("no statement of mcp grants dynamodb:BatchGetItem", text)

    def test_the_negative_control_must_be_refused(self):
        grant_read = {"identity": "mcp", "service": "dynamodb", "operation": "GetItem",
                      "body": {"TableName": TABLE, "Key": {"PK": {"S": "GRANT#x"}, "SK": {"S": "GRANT"}}}}
        control = {"identity": "mcp", "action": "dynamodb:GetItem", "leading_key": "GRANT#x"}
        status, text = self.outcome(ROOT / "deploy/template.yaml", [grant_read], [control])
        self.assertEqual(status, 0, text)
        self.assertIn("negative control refused", text)
        # The same call not declared a control is a failure; a control that is allowed is too.
        self.assertEqual(self.outcome(ROOT / "deploy/template.yaml", [grant_read])[0], 1)
        allowed = {"identity": "mcp", "action": "dynamodb:BatchGetItem", "leading_key": "REVOKED#j"}
        self.assertEqual(self.outcome(ROOT / "deploy/template.yaml", [self.revocation_read("mcp")], [allowed])[0], 1)

    def test_only_the_authz_role_signs(self):
        self.assertEqual(self.outcome(ROOT / "deploy/template.yaml", [self.kms("authz", "Sign")])[0], 0)
        self.assertEqual(self.outcome(ROOT / "deploy/template.yaml", [self.kms("mcp", "Sign")])[0], 1)
        self.assertEqual(self.outcome(ROOT / "deploy/template.yaml", [self.kms("admin", "Sign")])[0], 1)
        self.assertEqual(self.outcome(ROOT / "deploy/template.yaml", [self.kms("admin", "GetPublicKey")])[0], 0)

    def mcp_decides(self, parameters: dict, action: str, leading_key: str | None) -> bool:
        template = policy.load_template(ROOT / "deploy/template.yaml")
        physical = policy.Physical(**self.RUN["physical"], parameters=parameters)
        resolver = policy.Resolver(template, physical)
        ident = policy.role_identity(template, resolver, "mcp", "McpRole")
        resource = "*" if action.startswith("ce:") else TABLE_ARN
        context = {"dynamodb:LeadingKeys": [leading_key]} if leading_key else {}
        return policy.evaluate(ident, policy.Request(action, resource, context), {}, ROOT_PRINCIPAL).allowed

    def test_a_custom_server_gets_no_cost_explorer_access(self):
        calls = [("ce:GetCostAndUsage", None), ("ce:GetCostForecast", None),
                 ("dynamodb:GetItem", "CECACHE#x"), ("dynamodb:PutItem", "CECACHE#x"),
                 ("dynamodb:UpdateItem", "RATE#ce-budget#u")]
        for action, key in calls:
            # The default instance (the Cost Explorer stack) is allowed these ...
            self.assertTrue(self.mcp_decides({}, action, key), action)
            self.assertTrue(self.mcp_decides({"McpServer": "cost-explorer"}, action, key), action)
            # ... a server built with mcp-host is not.
            self.assertFalse(self.mcp_decides({"McpServer": "custom"}, action, key), action)
        # Every server reads the revocation list, and none other statements of its own.
        self.assertTrue(self.mcp_decides({"McpServer": "custom"}, "dynamodb:BatchGetItem", "REVOKED#j"))
        template = policy.load_template(ROOT / "deploy/template.yaml")
        resolver = policy.Resolver(template, policy.Physical(**self.RUN["physical"], parameters={"McpServer": "custom"}))
        sids = [st.sid for st in policy.role_identity(template, resolver, "mcp", "McpRole").statements]
        self.assertEqual(sids, ["Logs", "RevocationListRead"])
        self.assertFalse(any(a.startswith("ce:") for st in policy.role_identity(template, resolver, "mcp", "McpRole").statements for a in st.actions or []))


if __name__ == "__main__":
    unittest.main()
