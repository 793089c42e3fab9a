"""IAM policy evaluation over deploy/template.yaml, for the calls the functions really make.

moto answers every call whatever the policies say, so the end-to-end stage records the calls
(tests/iam/recorder.py) and this module decides, as IAM would, whether each identity of the
template may make them:

- the template is read with its CloudFormation tags and the parts that matter (policy documents,
  principals, conditions) are resolved with the physical names of the run;
- a recorded call becomes the IAM requests AWS authorizes for it (a DynamoDB transaction is one
  request per item, a batch read one request with every key in `dynamodb:LeadingKeys`);
- each request is evaluated against the identity's policies: an explicit Deny wins, then any
  Allow, else the implicit deny. KMS keys are resource policies: a key policy that names the
  role allows on its own; one that names the account root lets the identity policy decide.

Anything this module does not understand (a condition operator, an intrinsic function, a call
shape) raises `Unsupported`: the check fails loudly rather than guessing "allowed".
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml


class Unsupported(Exception):
    """The template or a call uses something this evaluator does not model."""


# ---- the template ---------------------------------------------------------------------------------


class _Tagged(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags (!Sub, !GetAtt …) into their long form."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Tagged.add_multi_constructor("!", _tag)


def load_template(path: Path | str) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Tagged)  # noqa: S506 (a SafeLoader subclass)


@dataclass
class Physical:
    """What the template's logical names stand for in one run."""

    partition: str
    region: str
    account: str
    stack: str
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attrs: dict[str, str] = field(default_factory=dict)  # "Logical.Attr" -> value
    parameters: dict[str, str] = field(default_factory=dict)  # overrides of the defaults


class Resolver:
    def __init__(self, template: dict, physical: Physical) -> None:
        self.template = template
        self.physical = physical
        self.params = {
            name: str(spec.get("Default", ""))
            for name, spec in (template.get("Parameters") or {}).items()
        }
        self.params.update(physical.parameters)
        self._conditions: dict[str, bool] = {}

    def pseudo(self, name: str) -> str:
        p = self.physical
        table = {
            "AWS::Partition": p.partition,
            "AWS::Region": p.region,
            "AWS::AccountId": p.account,
            "AWS::StackName": p.stack,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name not in table:
            raise Unsupported(f"pseudo parameter {name}")
        return table[name]

    def ref(self, name: str) -> str:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.params:
            return self.params[name]
        if name in self.physical.refs:
            return self.physical.refs[name]
        raise Unsupported(f"!Ref {name}: no physical value given for this run")

    def getatt(self, logical: str, attr: str) -> str:
        key = f"{logical}.{attr}"
        if key not in self.physical.attrs:
            raise Unsupported(f"!GetAtt {key}: no physical value given for this run")
        return self.physical.attrs[key]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            spec = (self.template.get("Conditions") or {}).get(name)
            if spec is None:
                raise Unsupported(f"condition {name} is not in the template")
            self._conditions[name] = bool(self._cond(spec))
        return self._conditions[name]

    def _cond(self, node: object) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return str(a) == str(b)
            if fn == "Fn::Not":
                return not self._cond(arg[0])
            if fn == "Fn::And":
                return all(self._cond(x) for x in arg)
            if fn == "Fn::Or":
                return any(self._cond(x) for x in arg)
            if fn == "Condition":
                return self.condition(arg)
        raise Unsupported(f"condition expression {node!r}")

    def resolve(self, node: object) -> object:
        """Resolves intrinsic functions; `None` stands for AWS::NoValue (dropped from lists)."""
        if isinstance(node, list):
            out = [self.resolve(x) for x in node]
            return [x for x in out if x is not None]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return None if arg == "AWS::NoValue" else self.ref(arg)
            if key == "Fn::GetAtt":
                return self.getatt(arg[0], arg[1])
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(x) for x in self.resolve(parts))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key.startswith("Fn::") or key == "Condition":
                raise Unsupported(f"intrinsic function {key}")
        out = {}
        for k, v in node.items():
            value = self.resolve(v)
            if value is not None:
                out[k] = value
        return out

    def _sub(self, arg: object) -> str:
        if isinstance(arg, list):
            text, names = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, names = arg, {}

        def one(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in names:
                return str(names[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return self.getatt(logical, attr)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)


# ---- policies -------------------------------------------------------------------------------------


@dataclass
class Statement:
    source: str  # e.g. "AuthzRole/authz#Store"
    sid: str
    effect: str
    actions: list[str] | None
    not_actions: list[str] | None
    resources: list[str] | None
    not_resources: list[str] | None
    condition: dict
    principals: list[str] | None = None  # resource policies only: the AWS principals named


def _list(value: object) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def statements_of(document: dict, source: str, resource_policy: bool = False) -> list[Statement]:
    raw = document.get("Statement", [])
    if isinstance(raw, dict):
        raw = [raw]
    out = []
    for i, st in enumerate(raw):
        principals = None
        if resource_policy:
            principal = st.get("Principal", {})
            if principal == "*":
                principals = ["*"]
            elif isinstance(principal, dict):
                principals = _list(principal.get("AWS")) or []
            else:
                raise Unsupported(f"{source}: principal {principal!r}")
        out.append(Statement(
            source=source,
            sid=str(st.get("Sid", f"#{i}")),
            effect=st["Effect"],
            actions=_list(st.get("Action")),
            not_actions=_list(st.get("NotAction")),
            resources=_list(st.get("Resource")),
            not_resources=_list(st.get("NotResource")),
            condition=st.get("Condition", {}) or {},
            principals=principals,
        ))
    return out


@dataclass
class Identity:
    name: str
    principal_arn: str | None  # the role's ARN (None for a managed policy checked on its own)
    statements: list[Statement]


def _active(resolver: Resolver, resource: dict) -> bool:
    condition = resource.get("Condition")
    return condition is None or resolver.condition(condition)


def role_identity(template: dict, resolver: Resolver, name: str, role: str) -> Identity:
    resources = template["Resources"]
    spec = resources[role]
    props = resolver.resolve(spec.get("Properties", {}))
    statements: list[Statement] = []
    for policy in props.get("Policies", []):
        statements += statements_of(policy["PolicyDocument"], f"{role}/{policy['PolicyName']}")
    # Managed and standalone policies attached to the role in the template.
    for logical, res in resources.items():
        if res.get("Type") in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy") and _active(resolver, res):
            roles = res.get("Properties", {}).get("Roles", [])
            if {"Ref": role} in roles:
                doc = resolver.resolve(res["Properties"]["PolicyDocument"])
                statements += statements_of(doc, logical)
    if props.get("ManagedPolicyArns"):
        raise Unsupported(f"{role}: ManagedPolicyArns (AWS managed policies are not modelled)")
    return Identity(name, resolver.getatt(role, "Arn"), statements)


def managed_policy_identity(template: dict, resolver: Resolver, name: str, logical: str) -> Identity:
    res = template["Resources"][logical]
    if res.get("Type") != "AWS::IAM::ManagedPolicy":
        raise Unsupported(f"{logical} is not an AWS::IAM::ManagedPolicy")
    doc = resolver.resolve(res["Properties"]["PolicyDocument"])
    return Identity(name, None, statements_of(doc, logical))


def key_policies(template: dict, resolver: Resolver) -> dict[str, list[Statement]]:
    """The key policy of every KMS key the template creates (under the run's conditions), by the
    key's ARN."""
    out = {}
    for logical, res in template["Resources"].items():
        if res.get("Type") == "AWS::KMS::Key" and _active(resolver, res):
            arn = resolver.getatt(logical, "Arn")
            doc = resolver.resolve(res["Properties"]["KeyPolicy"])
            out[arn] = statements_of(doc, f"{logical} key policy", resource_policy=True)
    return out


# ---- matching -------------------------------------------------------------------------------------


def _glob(pattern: str, value: str, case: bool) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def action_matches(patterns: list[str], action: str) -> bool:
    return any(_glob(p, action, case=False) for p in patterns)


def arn_matches(pattern: str, arn: str) -> bool:
    """Resource and ArnLike matching: `*` alone matches everything; otherwise the six
    colon-separated ARN parts are matched one by one (a wildcard does not cross a colon of the
    first five separators)."""
    if pattern == "*":
        return True
    p_parts, a_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(p_parts) != 6 or len(a_parts) != 6:
        return _glob(pattern, arn, case=True)
    return all(_glob(p, a, case=True) for p, a in zip(p_parts, a_parts))


_STRING_OPS = {
    "StringEquals": lambda pat, val: pat == val,
    "StringNotEquals": lambda pat, val: pat == val,
    "StringEqualsIgnoreCase": lambda pat, val: pat.lower() == val.lower(),
    "StringNotEqualsIgnoreCase": lambda pat, val: pat.lower() == val.lower(),
    "StringLike": lambda pat, val: _glob(pat, val, case=True),
    "StringNotLike": lambda pat, val: _glob(pat, val, case=True),
    "ArnEquals": lambda pat, val: pat == val,
    "ArnNotEquals": lambda pat, val: pat == val,
    "ArnLike": arn_matches,
    "ArnNotLike": arn_matches,
    "Bool": lambda pat, val: pat.lower() == val.lower(),
}
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def condition_holds(condition: dict, context: dict[str, list[str]]) -> bool:
    """Every operator block and every key in it must hold (AND); the values listed for one key
    are alternatives (OR). `context` maps condition keys (case-insensitive) to the request's
    values (a list: single-valued keys have one element)."""
    lowered = {k.lower(): v for k, v in context.items()}
    for operator, block in condition.items():
        qualifier, _, op = operator.rpartition(":")
        if_exists = op.endswith("IfExists")
        op = op.removesuffix("IfExists")
        if op not in _STRING_OPS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
            raise Unsupported(f"condition operator {operator}")
        match = _STRING_OPS[op]
        negated = op in _NEGATED
        for key, wanted in block.items():
            patterns = _list(wanted) or []
            values = lowered.get(key.lower())

            def hit(value: str) -> bool:
                found = any(match(p, value) for p in patterns)
                return not found if negated else found

            if qualifier == "ForAllValues":
                # Every value in the request must satisfy the test; an absent key or an empty
                # set satisfies it vacuously (the documented ForAllValues pitfall).
                ok = all(hit(v) for v in (values or []))
            elif qualifier == "ForAnyValue":
                ok = any(hit(v) for v in (values or []))
            elif values is None:
                # An absent key: false, except that negated operators and ...IfExists hold.
                ok = if_exists or negated
            else:
                if len(values) != 1:
                    raise Unsupported(f"{operator} on the multivalued key {key} without ForAllValues/ForAnyValue")
                ok = hit(values[0])
            if not ok:
                return False
    return True


@dataclass
class Request:
    """One IAM authorization request."""

    action: str
    resource: str
    context: dict[str, list[str]] = field(default_factory=dict)

    def describe(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in self.context.items())
        return f"{self.action} on {self.resource}{extra}"


def statement_applies(st: Statement, request: Request) -> bool:
    if st.actions is not None and not action_matches(st.actions, request.action):
        return False
    if st.not_actions is not None and action_matches(st.not_actions, request.action):
        return False
    if st.resources is not None and not any(arn_matches(r, request.resource) for r in st.resources):
        return False
    if st.not_resources is not None and any(arn_matches(r, request.resource) for r in st.not_resources):
        return False
    return condition_holds(st.condition, request.context)


def _principal_named(st: Statement, arn: str) -> bool:
    return any(p == "*" or p == arn for p in (st.principals or []))


@dataclass
class Decision:
    allowed: bool
    by: list[str]  # statements that allowed, or the one that denied
    why: str


def evaluate(identity: Identity, request: Request, keys: dict[str, list[Statement]], account_root: str) -> Decision:
    identity_hits = [st for st in identity.statements if statement_applies(st, request)]
    denies = [st for st in identity_hits if st.effect == "Deny"]
    allows = [st for st in identity_hits if st.effect == "Allow"]
    if request.action.lower().startswith("kms:"):
        key = keys.get(request.resource)
        if key is None:
            return Decision(False, [], f"no KMS key of the template has the ARN {request.resource}")
        key_hits = [st for st in key if statement_applies(st, request)]
        principal = identity.principal_arn or ""
        denies += [st for st in key_hits if st.effect == "Deny" and (_principal_named(st, principal) or _principal_named(st, account_root))]
        if denies:
            return Decision(False, [f"{d.source}#{d.sid}" for d in denies], "explicit Deny")
        direct = [st for st in key_hits if st.effect == "Allow" and principal and _principal_named(st, principal)]
        if direct:
            return Decision(True, [f"{d.source}#{d.sid}" for d in direct], "the key policy names the role")
        delegated = [st for st in key_hits if st.effect == "Allow" and _principal_named(st, account_root)]
        if delegated and allows:
            return Decision(True, [f"{d.source}#{d.sid}" for d in allows], "the key policy delegates to IAM and an identity policy allows")
        if not delegated:
            return Decision(False, [], "the key policy neither names the role nor delegates this action to IAM")
        return Decision(False, [], "the key policy delegates to IAM, but no identity policy allows")
    if denies:
        return Decision(False, [f"{d.source}#{d.sid}" for d in denies], "explicit Deny")
    if allows:
        return Decision(True, [f"{a.source}#{a.sid}" for a in allows], "allowed")
    return Decision(False, [], "implicit deny: no statement allows")


def nearest(identity: Identity, request: Request) -> str:
    """Which statements should cover a refused request: those granting the action."""
    granting = [st for st in identity.statements if st.effect == "Allow" and (
        (st.actions is not None and action_matches(st.actions, request.action))
        or (st.not_actions is not None and not action_matches(st.not_actions, request.action)))]
    if not granting:
        service = request.action.split(":")[0]
        same = sorted({st.sid for st in identity.statements if st.actions and any(a.lower().startswith(service.lower() + ":") for a in st.actions)})
        hint = f" ({service} statements: {', '.join(same)})" if same else ""
        return f"no statement of {identity.name} grants {request.action}{hint}"
    parts = []
    for st in granting:
        parts.append(f"{st.source}#{st.sid} grants {request.action} on {st.resources or ('NOT ' + str(st.not_resources))}"
                     + (f" with {json.dumps(st.condition)}" if st.condition else "")
                     + ", which does not match")
    return "; ".join(parts)


# ---- calls -> requests ----------------------------------------------------------------------------


_DYNAMO_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def _string_key(key: dict, attr: str) -> str:
    value = key.get(attr)
    if not isinstance(value, dict) or "S" not in value:
        raise Unsupported(f"partition key {attr} is not a string in {key!r}")
    return value["S"]


@dataclass
class Names:
    """What the run's resources are called, to turn request parameters into ARNs."""

    partition: str
    region: str
    account: str
    table_keys: dict[str, str]  # table name -> partition key attribute of the table
    index_keys: dict[tuple[str, str], str]  # (table, index) -> partition key attribute

    def table_arn(self, table: str) -> str:
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:table/{table}"

    def key_arn(self, key_id: str) -> str:
        if key_id.startswith("arn:"):
            return key_id
        if key_id.startswith("alias/"):
            raise Unsupported(f"KMS alias {key_id}: resolve aliases to key ARNs before checking")
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{key_id}"


def _query_partition(body: dict, attr: str) -> str:
    expression = body.get("KeyConditionExpression")
    if not expression:
        raise Unsupported("Query without KeyConditionExpression")
    names = body.get("ExpressionAttributeNames", {})
    values = body.get("ExpressionAttributeValues", {})
    for left, right in re.findall(r"(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)", expression):
        if names.get(left, left) == attr:
            return _string_key(values, right)
    raise Unsupported(f"cannot find the partition key {attr} in {expression!r}")


def requests_of(call: dict, names: Names) -> list[Request]:
    service, operation, body = call["service"], call["operation"], call.get("body") or {}
    if service == "dynamodb":
        leading = "dynamodb:LeadingKeys"
        if operation in ("GetItem", "DeleteItem", "UpdateItem"):
            table = body["TableName"]
            return [Request(f"dynamodb:{operation}", names.table_arn(table),
                            {leading: [_string_key(body["Key"], names.table_keys[table])]})]
        if operation == "PutItem":
            table = body["TableName"]
            return [Request("dynamodb:PutItem", names.table_arn(table),
                            {leading: [_string_key(body["Item"], names.table_keys[table])]})]
        if operation == "Query":
            table, index = body["TableName"], body.get("IndexName")
            attr = names.index_keys[(table, index)] if index else names.table_keys[table]
            arn = names.table_arn(table) + (f"/index/{index}" if index else "")
            return [Request("dynamodb:Query", arn, {leading: [_query_partition(body, attr)]})]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            out = []
            for table, spec in body["RequestItems"].items():
                attr = names.table_keys[table]
                if operation == "BatchGetItem":
                    keys = [_string_key(k, attr) for k in spec["Keys"]]
                else:
                    keys = [_string_key((w.get("PutRequest", {}).get("Item") or w["DeleteRequest"]["Key"]), attr) for w in spec]
                out.append(Request(f"dynamodb:{operation}", names.table_arn(table), {leading: sorted(set(keys))}))
            return out
        if operation in ("TransactWriteItems", "TransactGetItems"):
            out = []
            for entry in body["TransactItems"]:
                (kind, spec), = entry.items()
                action = "GetItem" if kind == "Get" else _DYNAMO_TRANSACT_WRITE.get(kind)
                if action is None:
                    raise Unsupported(f"transaction item {kind}")
                table = spec["TableName"]
                key = spec.get("Item") if kind == "Put" else spec["Key"]
                out.append(Request(f"dynamodb:{action}", names.table_arn(table),
                                   {leading: [_string_key(key, names.table_keys[table])]}))
            return out
        if operation in ("DescribeTable", "CreateTable", "UpdateTimeToLive", "DescribeTimeToLive"):
            return [Request(f"dynamodb:{operation}", names.table_arn(body["TableName"]))]
        raise Unsupported(f"DynamoDB {operation}")
    if service == "kms":
        if "KeyId" not in body:
            raise Unsupported(f"KMS {operation} without KeyId")
        return [Request(f"kms:{operation}", names.key_arn(body["KeyId"]))]
    if service == "cognito-idp":
        if "UserPoolId" not in body:
            raise Unsupported(f"Cognito {operation} without UserPoolId")
        return [Request(f"cognito-idp:{operation}",
                        f"arn:{names.partition}:cognito-idp:{names.region}:{names.account}:userpool/{body['UserPoolId']}")]
    if service == "ce":
        # Cost Explorer's read operations have no resource-level permissions.
        return [Request(f"ce:{operation}", "*")]
    raise Unsupported(f"service {service} ({operation})")
