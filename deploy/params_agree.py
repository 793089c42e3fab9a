"""Keeps deploy/template.yaml's parameter constraints and the functions' start-up validation in
agreement. Run by deploy/lint.sh: python params_agree.py TEMPLATE SERVERLESS_MCP_BINARY

For every parameter that reaches a function's environment (a Ref, or inside a Sub or If), each
probe value below is judged twice:
  - by the template, as CloudFormation would: Type, AllowedPattern, AllowedValues, Min/Max, then
    the Rules section;
  - by the functions: the template's environment for authz and for mcp is resolved with the
    probe in place, and `serverless-mcp check-config` (the same Config and McpSettings parsing
    the Lambda functions run at start-up) judges each.
A value the template accepts but a function refuses is a stack that deploys and then cannot
start: a failure, except the documented first of two deployments without a custom domain
(FIRST_DEPLOYMENT), where the functions refuse and name the missing step. A value a function accepts but the template refuses is allowed only
where RESTRICTIONS below names it with a reason (and each restriction must still match a probe,
so none goes stale). A parameter that reaches a function but has no probes fails the check.
"""

import os
import re
import subprocess
import sys

import yaml

STACK = "serverless-mcp"
REGION = "us-east-1"

# Values for settings the stack fills from its own resources (not from parameters).
STAND_INS = {
    "SMCP_TABLE": "serverless-mcp-Table-1ABCDEF2345",
    "SMCP_SIGNING_KEY": "kms:arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "SMCP_COGNITO_USER_POOL_ID": "us-east-1_AbCdEf123",
    "SMCP_COGNITO_CLIENT_ID": "4example5client6id7abcdefgh",
    "SMCP_COGNITO_CLIENT_SECRET": "example-client-secret-0123456789abcdefghijklmnopqrstuvw",
    "SMCP_COOKIE_KEY": "A" * 64,
    "SMCP_ORIGIN_SECRET": "B" * 64,
}

# Parameters without a default get these; the rest of the baseline is the template's defaults.
BASELINE = {
    "CognitoDomainPrefix": "example-login",
    "CustomDomain": "mcp.example.com",
    "CertificateArn": "arn:aws:acm:us-east-1:111111111111:certificate/1234abcd-12ab-34cd-56ef-1234567890ab",
}


def numbers(lo, hi):
    """Digit-boundary probes for a whole-number range, plus malformed numbers."""
    vals = {lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, 0, 1}
    for k in range(len(str(hi)) + 2):
        for d in range(1, 10):
            n = d * 10**k
            vals |= {n - 1, n, n + 1}
    out = [str(v) for v in sorted(vals) if v >= 0]
    return out + ["-1", "+60", "060", " 60", "60.5", "1e3", "abc", "", "18446744073709551616"]


PROBES = {
    "AccessTokenTtl": numbers(60, 3600),
    "RefreshTokenTtl": numbers(300, 31536000),
    "ClientIdleDays": numbers(1, 3650),
    "CostDailyBudget": numbers(0, 999999999),
    "CostCacheTtl": numbers(0, 999999999),
    "RegisterRateLimit": [
        "300/3600", "0/1", "1/1", "1/0", "1/00", "300/", "/3600", "300", "300/3600/1",
        "9999999999999999999/1", "18446744073709551615/1", "1/18446744073709551616",
        " 300/3600", "300 / 3600", "a/b", "-1/60",
    ],
    "RegisterRateExempt": [
        "", "192.0.2.1", "192.0.2.0/24", "10.0.0.0/8,192.0.2.0/24", "10.0.0.0/8, 2001:db8::/32",
        "2001:db8::1", "::1", "::", "fe80::1/128", "1:2:3:4:5:6:7:8", "10.0.0.0/8,",
        "256.0.0.1", "192.0.2.0/33", "01.2.3.4", "fe80::1/129", "1:2:3:4:5:6:7:8:9", "2001:db8:::1",
        "example.com", "10.0.0.0/8;10.1.0.0/16", "::ffff:192.0.2.1",
    ],
    "AccountScopes": [
        "{}", '{"*":["*"]}', '{"finance":["*"],"team-a":["111111111111"]}',
        '{ "team-a" : [ "111111111111" , "222222222222" ] }', '{"team-a":[]}', '{"":["*"]}',
        "", "[]", '{"team-a":"111111111111"}', '{"team-a":["11111111111"]}',
        '{"team-a":["1111111111111"]}', '{"team-a":[111111111111]}', '{"team-a":["*",]}',
        '{"team-a":["*"]', '{"team-a":["all"]}', '{"a\\"b":["*"]}', '{"team-a":["*"]} x',
        '{"team-a":{"x":["*"]}}', "null",
    ],
    "Scopes": [
        "costs:read costs:resources", "costs:read,costs:resources", "costs:read, costs:resources",
        "costs:read costs:resources notes:write", "notes:read costs:read costs:resources",
        "costs:read", "notes:read", "a b", "", " costs:read costs:resources",
        'costs:read costs:resources a"b', "costs:read costs:resources a\\b",
        "costs:read costs:resources a;b", "costs:read costs:resources a=b",
        "costs:read costs:resources " + "x" * 128, "costs:read costs:resources " + "x" * 129,
        "costs:read costs:resources caf\u00e9",
    ],
    "ScopeDescriptions": [
        "", "costs:read=Read your costs", "costs:read=Read;costs:resources=Per-resource costs",
        "costs:read=Costs; read only", "costs:read", "costs:read=", "=text", "notes:read=Notes",
        "costs:read=a=b", "costs:read=Read;", "costs:read=Read;;costs:resources=R",
        "costs:read=" + "r" * 200, "costs:read=" + "r" * 201, "costs:read=Read\tcosts",
        "costs:read=Read\x7f", "costs:read=Read\x85", "costs:read=Read\u202e", "costs:read=Read\ufeff",
        "costs:read=Read\u200bcosts", "costs:read=Read\u00e9",
        "costs:read=Read;costs:read=Again",
    ],
    "LogFilter": [
        "info", "debug", "info,authz=debug", "warn,mcp::tools=trace", "off", "INFO", "info,",
        "", "verbose", "authz=loud", "info,authz", "authz[span]=debug", "info authz=debug",
    ],
    "CognitoDomainPrefix": [
        "example-login", "a", "a" * 63, "a" * 64, "-login", "login-", "Login", "my_login",
        "my-aws-login", "amazonlogin", "cognito1",
    ],
    "DistributionHostname": [
        "", "d1234abcd.cloudfront.net", "D123.cloudfront.net", "d123.example.com",
        "d123.cloudfront.net/x", "d 123.cloudfront.net",
    ],
    "CustomDomain": [
        "mcp.example.com", "a.b.example.org", "MCP.example.com", "mcp.example.com.", "localhost",
        "mcp.example.com:8443", "mcp example.com", "-mcp.example.com", "https://mcp.example.com",
    ],
}

# Values the template accepts on purpose although the functions then refuse to start.
FIRST_DEPLOYMENT = ("DistributionHostname", "", "not-configured--redeploy-with-DistributionHostname")

# Other parameters a probe needs (a distribution host name only without a custom domain).
CONTEXT = {"DistributionHostname": {"CustomDomain": "", "CertificateArn": ""}}

# Values the functions accept that the template refuses on purpose: (parameter, test, reason).
RESTRICTIONS = [
    ("*", lambda p, v: v != v.strip() or re.fullmatch(r"[+]?0[0-9]+(/.*)?|\+[0-9]+", v) is not None,
     "only the plain form: no surrounding blanks, plus sign or leading zeros"),
    ("*", lambda p, v: v == "" and p in ("AccessTokenTtl", "RefreshTokenTtl", "ClientIdleDays",
                                          "CostDailyBudget", "CostCacheTtl"),
     "a number written out (empty would mean the function's built-in default)"),
    ("CognitoDomainPrefix", lambda p, v: True,
     "Cognito's own rules for domain prefixes, which the functions do not know"),
    ("CostDailyBudget", lambda p, v: v.isdigit() and int(v) > 999999999,
     "an upper bound the function lacks, against overflow and typos"),
    ("CostCacheTtl", lambda p, v: v.isdigit() and int(v) > 999999999,
     "an upper bound the function lacks, against overflow and typos"),
    ("RegisterRateLimit", lambda p, v: len(v.split("/")[0]) > 19 or " " in v,
     "counts of at most 19 digits, no blanks"),
    ("RegisterRateExempt", lambda p, v: v == "::ffff:192.0.2.1",
     "IPv6 with an embedded IPv4 part is not in the pattern; write it in hex"),
    ("AccountScopes", lambda p, v: v == "",
     "an explicit mapping: {} for nobody, {\"*\":[\"*\"]} for everyone"),
    ("AccountScopes", lambda p, v: "\\" in v,
     "group names without JSON escapes"),
    ("Scopes", lambda p, v: v == "",
     "the scopes written out (empty would mean the built-in default)"),
    ("ScopeDescriptions", lambda p, v: ";;" in v or v.endswith(";"),
     "no empty entries between or after the semicolons"),
    ("LogFilter", lambda p, v: v == "" or re.search(r"(^|,)[A-Za-z_:]+(,|$)|\[| ", v) is not None,
     "only levels and target=level directives (no bare targets, span filters or blanks)"),
    ("CustomDomain", lambda p, v: v in ("localhost", "MCP.example.com", "mcp.example.com.",
                                        "-mcp.example.com", "mcp.example.com:8443",
                                        "https://mcp.example.com"),
     "a bare lowercase DNS name with a dot: no scheme, port or trailing dot"),
    ("DistributionHostname", lambda p, v: v in ("D123.cloudfront.net", "d123.example.com",
                                                "d123.cloudfront.net/x"),
     "a CloudFront distribution's own host name"),
]


# Values the template accepts although the functions refuse them, because CloudFormation cannot
# express the rule (its Rules have no Fn::Split, so a space-separated Scopes string cannot be
# searched): (parameter, test, words the refusal must contain, reason). The function refuses to
# start and says why, which is the check these values get.
STARTUP_ONLY = [
    ("Scopes", lambda p, v: not {"costs:read", "costs:resources"} <= set(re.split(r"[ ,]+", v)),
     "does not offer",
     "the Cost Explorer server declares costs:read and costs:resources (McpServer=cost-explorer)"),
    ("ScopeDescriptions", lambda p, v: v.split("=")[0] not in ("costs:read", "costs:resources"),
     "is not one of the configured scopes",
     "a description names one of Scopes (another parameter)"),
    ("ScopeDescriptions", lambda p, v: len({e.split("=")[0] for e in v.split(";")}) < len(v.split(";")),
     "is described twice",
     "each scope described once (a pattern cannot compare entries)"),
]


def cfn_loader():
    class Loader(yaml.SafeLoader):
        pass

    def construct(loader, suffix, node):
        name = "Ref" if suffix == "Ref" else "Fn::" + suffix
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    Loader.add_multi_constructor("!", construct)
    return Loader


class NoValue:
    pass


def evaluate(expr, params, conditions):
    """Evaluates the intrinsic functions used in Conditions, Rules and environments."""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, (int, float)):
        return str(expr)
    if isinstance(expr, dict) and len(expr) == 1:
        (fn, arg), = expr.items()
        ev = lambda e: evaluate(e, params, conditions)  # noqa: E731
        if fn == "Ref":
            pseudo = {"AWS::Region": REGION, "AWS::StackName": STACK, "AWS::NoValue": NoValue}
            if arg in pseudo:
                return pseudo[arg]
            if arg in params:
                return params[arg]
        elif fn == "Fn::Equals":
            return ev(arg[0]) == ev(arg[1])
        elif fn == "Fn::Not":
            return not ev(arg[0])
        elif fn == "Fn::And":
            return all(ev(a) for a in arg)
        elif fn == "Fn::Or":
            return any(ev(a) for a in arg)
        elif fn == "Condition":
            return ev(conditions[arg])
        elif fn == "Fn::If":
            return ev(arg[1]) if ev(conditions[arg[0]]) else ev(arg[2])
        elif fn == "Fn::Sub" and isinstance(arg, str):
            return re.sub(r"\$\{([^}!]+)\}", lambda m: ev({"Ref": m.group(1)}), arg)
    raise ValueError(f"cannot evaluate {expr!r}")


def template_accepts(template, params):
    """CloudFormation's parameter checks and Rules, for a full set of parameter values."""
    for name, spec in template["Parameters"].items():
        value = params[name]
        if spec["Type"] == "Number":
            try:
                number = float(value)
            except ValueError:
                return False
            if "MinValue" in spec and number < float(spec["MinValue"]):
                return False
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                return False
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            return False
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            return False
        if not spec.get("MinLength", 0) <= len(value) <= spec.get("MaxLength", 1 << 30):
            return False
    conditions = template.get("Conditions", {})
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], params, conditions):
            continue
        if not all(evaluate(a["Assert"], params, conditions) for a in rule["Assertions"]):
            return False
    return True


def function_envs(template):
    return {
        name: resource["Properties"]["Environment"]["Variables"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        and "Environment" in resource.get("Properties", {})
    }


def params_in(expr, names):
    """The parameters an environment value is built from."""
    found = set()
    if isinstance(expr, dict):
        for fn, arg in expr.items():
            if fn == "Ref" and arg in names:
                found.add(arg)
            elif fn == "Fn::Sub" and isinstance(arg, str):
                found |= {m for m in re.findall(r"\$\{([^}!]+)\}", arg) if m in names}
            else:
                found |= params_in(arg, names)
    elif isinstance(expr, list):
        for item in expr:
            found |= params_in(item, names)
    return found


def functions_accept(template, params, binary):
    """Every function's start-up check with its resolved environment: (ok, first error)."""
    conditions = template.get("Conditions", {})
    for function, variables in function_envs(template).items():
        env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_FUNCTION_NAME": function}
        for key, expr in variables.items():
            value = STAND_INS[key] if key in STAND_INS else evaluate(expr, params, conditions)
            if value is not NoValue:
                env[key] = value
        # Each function's own start-up rules (the MCP function needs no cookie key).
        which = "mcp" if function.lower().startswith("mcp") else "authz"
        run = subprocess.run([binary, "check-config", "--function", which], env=env,
                             capture_output=True, text=True)
        if run.returncode != 0:
            return False, f"{function}: {run.stderr.strip()}"
    return True, ""


def main(template_path, binary):
    template = yaml.load(open(template_path), Loader=cfn_loader())
    parameters = template["Parameters"]
    base = {n: str(s.get("Default", BASELINE.get(n, ""))) for n, s in parameters.items()}
    base.update(BASELINE)
    failures = []
    ok, why = functions_accept(template, base, binary)
    if not template_accepts(template, base) or not ok:
        failures.append(f"the baseline (defaults) is refused: template {template_accepts(template, base)}, functions: {why}")

    reaching = set()
    for variables in function_envs(template).values():
        for expr in variables.values():
            reaching |= params_in(expr, parameters)
    for name in sorted(reaching - set(PROBES)):
        failures.append(f"{name} reaches a function's environment but has no probes in {__file__}")
    for name in sorted(reaching):
        spec = parameters[name]
        if not any(k in spec for k in ("AllowedPattern", "AllowedValues", "MinValue", "MaxValue")):
            failures.append(f"{name} reaches a function's environment but has no constraint")

    used = set()
    checked = 0
    for name in sorted(reaching & set(PROBES)):
        for value in PROBES[name]:
            params = dict(base, **{name: value})
            params.update(CONTEXT.get(name, {}))
            by_template = template_accepts(template, params)
            by_functions, why = functions_accept(template, params, binary)
            checked += 1
            if by_template and not by_functions and (name, value) == FIRST_DEPLOYMENT[:2]:
                # The documented first of two deployments without a custom domain: the
                # functions refuse to start and name the missing step.
                if FIRST_DEPLOYMENT[2] not in why:
                    failures.append(f"{name}={value!r}: expected the two-step hint, got {why}")
                used.add("first-deployment")
            elif by_template and not by_functions and any(
                    p == name and test(name, value) and words in why
                    for p, test, words, _ in STARTUP_ONLY):
                used.update(f"startup-{i}" for i, (p, test, words, _) in enumerate(STARTUP_ONLY)
                            if p == name and test(name, value) and words in why)
            elif by_template and not by_functions:
                failures.append(f"{name}={value!r}: the template accepts it, but {why}")
            elif by_functions and not by_template:
                matched = [i for i, (p, test, _) in enumerate(RESTRICTIONS)
                           if p in ("*", name) and test(name, value)]
                if matched:
                    used.update(matched)
                else:
                    failures.append(f"{name}={value!r}: the functions accept it, the template refuses it")
    if "first-deployment" not in used:
        failures.append("the first of two deployments (no host name yet) was not probed")
    for i, (param, _, reason) in enumerate(RESTRICTIONS):
        if i not in used:
            failures.append(f"restriction on {param} ({reason}) matches no probe any more")

    for i, (param, _, _, reason) in enumerate(STARTUP_ONLY):
        if f"startup-{i}" not in used:
            failures.append(f"start-up-only rule on {param} ({reason}) matches no probe any more")

    for failure in failures:
        print(f"params-agree: {failure}", file=sys.stderr)
    if failures:
        return 1
    print(f"params-agree: {checked} probes over {len(reaching)} parameters agree "
          f"({len(RESTRICTIONS)} deliberate restrictions)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
