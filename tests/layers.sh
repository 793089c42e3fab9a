#!/usr/bin/env bash
# The layering the folders promise, checked over the sources:
#   1. authz/src/flows/ is the HTTP-free core: no web framework or HTTP type (axum, lambda_http,
#      tower, tower_http, the `http` crate, http_body, http_body_util) and no HTTP client or
#      transport (reqwest, hyper, hyper_util, hyper_rustls), and nothing from `endpoints/` or
#      `extract/`. The whole `http` crate counts, StatusCode included: choosing a status is the
#      endpoints' mapping of a flow result, not the flow's business.
#   2. authz/src/upstream/ (identity providers) imports nothing from `flows/`, and the other
#      adapters (cimd/, the metadata document fetcher; cookie_key.rs) nothing from `flows/`,
#      `endpoints/` or `extract/`: they sit below the flows, which reach them through ports.
#   3. The bearer layer of the hosting library (mcp-host/src/auth.rs, mcp-host/src/auth/) imports
#      nothing from the hosting modules (`endpoint`, `hosting`, `run`): it sits below them, and a
#      server's tools reach it only through the scope policy they declare.
#   4. The hosting library (mcp-host/src/) uses nothing of the Cost Explorer server (the `mcp`
#      crate): that server is one consumer of the library, not a part of it.
# Every path in the code counts, not only `use` lines: comments and string literals are blanked
# first, `use` trees are flattened (`use crate::{extract::X, flows}`), `crate::`, `self::` and
# `super::` are resolved against the file's module, and names the crate root imports
# (`crate::Caller` for a `use extract::Caller;` in lib.rs) are followed one step. What it cannot
# see: a forbidden type reached through a re-export in some other module, or inside a macro's
# own expansion.
# Usage: tests/layers.sh              check the workspace; each violation as file:line
#        tests/layers.sh --self-test  check that planted violations are found and look-alikes not
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

# Violations tolerated for now (empty: there are none), each `file<tab>resolved path prefix`
# under a comment saying why it is still there. An entry that no longer matches anything fails
# the check, so the list can only shrink.
allowed=$(cat <<'EOF'
EOF
)

check() { # root allow-list
  ROOT="$1" ALLOWED="$2" perl -e '
use strict;
use warnings;
use File::Find;

my $root = $ENV{ROOT};
my @forbidden_crates = qw(axum lambda_http tower tower_http http http_body http_body_util
                          reqwest hyper hyper_util hyper_rustls);
my %forbidden_crate = map { $_ => 1 } @forbidden_crates;

# Each rule: files (a path regex relative to the root), the crate source dir, what is refused.
my @rules = (
  { files => qr{^authz/src/flows/.*\.rs$}, src => "authz/src",
    crates => 1, internal => [qw(endpoints extract)], what => "flows/ (the HTTP-free core)" },
  { files => qr{^authz/src/upstream(/.*)?\.rs$}, src => "authz/src",
    crates => 0, internal => [qw(flows)], what => "upstream/ (identity providers)" },
  { files => qr{^authz/src/(cimd(/.*)?|cookie_key)\.rs$}, src => "authz/src",
    crates => 0, internal => [qw(flows endpoints extract)],
    what => "the adapters cimd/ and cookie_key.rs" },
  { files => qr{^mcp-host/src/auth(/.*)?\.rs$}, src => "mcp-host/src",
    crates => 0, internal => [qw(endpoint hosting run)], what => "the mcp-host bearer layer" },
  { files => qr{^mcp-host/src/.*\.rs$}, src => "mcp-host/src",
    crates => 0, extern => [qw(mcp)], internal => [], what => "the hosting library" },
);

my @allowed;
for my $line (split /\n/, $ENV{ALLOWED} // "") {
  next if $line =~ /^\s*(#|$)/;
  my ($file, $prefix) = split /\t/, $line;
  push @allowed, { file => $file, prefix => $prefix, used => 0 };
}

# Comments and string, byte-string, raw-string and char literals become blanks; newlines stay,
# so offsets still give line numbers.
sub blank {
  my ($text) = @_;
  $text =~ s{(//[^\n]*|/\*.*?\*/|b?r(\#*)".*?"\2|b?"(?:\\.|[^"\\])*"|b?\x27(?:\\.|[^\x27\\\n])\x27)}{
    my $m = $1; $m =~ s/[^\n]/ /g; $m }gse;
  return $text;
}

sub line_of { my ($text, $offset) = @_; return 1 + (() = substr($text, 0, $offset) =~ /\n/g); }

# Flattens a use tree ("a::{b, c::{d as e}, f::*}") into full paths with their local names.
sub flatten {
  my ($prefix, $tree, $out) = @_;
  $tree =~ s/^\s+|\s+$//g;
  return if $tree eq "";
  if ($tree =~ /^(.*?)::\s*\{(.*)\}$/s || $tree =~ /^()\{(.*)\}$/s) {
    my ($head, $body) = ($1, $2);
    my $base = join "::", grep { $_ ne "" } $prefix, $head;
    my ($depth, $start) = (0, 0);
    for my $i (0 .. length($body)) {
      my $c = $i < length($body) ? substr($body, $i, 1) : ",";
      $depth++ if $c eq "{";
      $depth-- if $c eq "}";
      if ($c eq "," && $depth == 0) {
        flatten($base, substr($body, $start, $i - $start), $out);
        $start = $i + 1;
      }
    }
    return;
  }
  my ($path, $alias) = $tree =~ /^(.*?)(?:\s+as\s+(\w+))?$/s;
  $path =~ s/\s+//g;
  my $full = join "::", grep { $_ ne "" } $prefix, $path;
  $full =~ s/::self$//;
  my @segments = split /::/, $full;
  push @$out, [$full, $alias // $segments[-1]];
}

# The module of a source file, as segments below the crate root.
sub module_of {
  my ($rel, $src) = @_;
  my $m = substr($rel, length($src) + 1);
  $m =~ s/\.rs$//;
  my @segments = split m{/}, $m;
  pop @segments if @segments && ($segments[-1] eq "mod" || $segments[-1] eq "lib" || $segments[-1] eq "main");
  return @segments;
}

# Names the crate root imports, reachable as crate::name from anywhere in the crate.
my %root_alias;
sub root_aliases {
  my ($src) = @_;
  return $root_alias{$src} if $root_alias{$src};
  my %alias;
  my $lib = "$root/$src/lib.rs";
  if (open my $fh, "<", $lib) {
    local $/;
    my $code = blank(<$fh>);
    while ($code =~ /\buse\s+([^;]*);/g) {
      my @paths;
      flatten("", $1, \@paths);
      for my $p (@paths) {
        my ($full, $name) = @$p;
        next if $name eq "*";
        $full =~ s/^(crate|self)::|^:://;
        $alias{$name} = $full;
      }
    }
  }
  return $root_alias{$src} = \%alias;
}

# A path as written, resolved to ("crate", segments...) or ("extern", crate, segments...).
sub resolve {
  my ($path, $module, $aliases) = @_;
  my @s = split /::/, $path;
  my $leading = $path =~ /^::/;
  shift @s if $leading;
  return ("extern", @s) if $leading;
  my @m = @$module;
  if ($s[0] eq "crate") {
    shift @s;
    if (@s && exists $aliases->{$s[0]}) {
      my $first = shift @s;
      unshift @s, split /::/, $aliases->{$first};
    }
    return ("crate", @s);
  }
  if ($s[0] eq "self" || $s[0] eq "super") {
    while (@s && ($s[0] eq "self" || $s[0] eq "super")) {
      pop @m if shift(@s) eq "super";
    }
    return ("crate", @m, @s);
  }
  return ("extern", @s);
}

my @violations;
my @files;
find({ no_chdir => 1, wanted => sub { push @files, $_ if /\.rs$/ && -f $_ } }, "$root/authz/src", "$root/mcp-host/src");
for my $abs (sort @files) {
  my $rel = substr($abs, length($root) + 1);
  for my $rule (@rules) {
    next unless $rel =~ $rule->{files};
    my @module = module_of($rel, $rule->{src});
    my $aliases = root_aliases($rule->{src});
    open my $fh, "<", $abs or die "$abs: $!";
    my $code = do { local $/; blank(<$fh>) };
    close $fh;
    my @found; # [line, resolved text]
    # use statements first, flattened; then blanked so the path scan does not see them twice.
    while ($code =~ /\buse\s+([^;]*);/g) {
      my ($start, $end, $tree) = ($-[0], $+[0], $1);
      my $line = line_of($code, $start);
      my @paths;
      flatten("", $tree, \@paths);
      push @found, map { [$line, $_->[0]] } @paths;
      my $blank = substr($code, $start, $end - $start);
      $blank =~ s/[^\n]/ /g;
      substr($code, $start, $end - $start) = $blank;
      pos($code) = $end;
    }
    while ($code =~ /(?<![\w:.])((?:::)?[A-Za-z_]\w*(?:::[A-Za-z_]\w*)+)/g) {
      push @found, [line_of($code, $-[1]), $1];
    }
    my %seen;
    for my $f (@found) {
      my ($line, $path) = @$f;
      my ($kind, @s) = resolve($path, \@module, $aliases);
      next unless @s;
      my $hit;
      if ($kind eq "extern"
          && (($rule->{crates} && $forbidden_crate{$s[0]}) || grep { $_ eq $s[0] } @{ $rule->{extern} // [] })) {
        $hit = $s[0];
      } elsif ($kind eq "crate" && grep { $_ eq $s[0] } @{ $rule->{internal} }) {
        $hit = "crate::$s[0]";
      }
      next unless defined $hit;
      my $resolved = $kind eq "crate" ? join("::", "crate", @s) : join("::", @s);
      next if $seen{"$line $resolved"}++;
      my ($allow) = grep { $_->{file} eq $rel && index($resolved, $_->{prefix}) == 0 } @allowed;
      if ($allow) { $allow->{used}++; next; }
      push @violations, "$rel:$line: $rule->{what} must not use $hit ($resolved)";
    }
  }
}
print "$_\n" for @violations;
my $stale = 0;
for my $a (@allowed) {
  next if $a->{used};
  print STDERR "layers: allow-list entry no longer needed, remove it: $a->{file}\t$a->{prefix}\n";
  $stale++;
}
my $known = grep { $_->{used} } @allowed;
print STDERR "layers: $known known violation(s) still allowed by the list in tests/layers.sh\n" if $known;
exit(@violations || $stale ? 1 : 0);
'
}

self_test() {
  local dir
  dir="$(mktemp -d)"
  mkdir -p "$dir/authz/src/flows/deep" "$dir/authz/src/upstream" "$dir/authz/src/cimd" "$dir/mcp-host/src/auth"
  cat > "$dir/authz/src/lib.rs" <<'EOF'
mod extract;
mod flows;
use extract::client_addr::Caller;
pub use flows::cookie::Key as CookieKey;
EOF
  # Each line marked `bad` must be reported, and no other line.
  cat > "$dir/authz/src/flows/bad.rs" <<'EOF'
use axum::Json; // bad
use crate::{ // bad
    error::OAuthError,
    extract::client_addr::Caller,
};
use super::super::endpoints::page; // bad
fn f() -> http::StatusCode { todo!() } // bad
fn g(c: reqwest::Client) {} // bad
fn h(c: &crate::Caller) {} // bad
fn i() { let _ = ::hyper::Uri::default(); } // bad
use tower_http::trace::TraceLayer; // bad
use lambda_http as web; // bad
EOF
  cat > "$dir/authz/src/flows/deep/bad.rs" <<'EOF'
use super::super::super::extract::form; // bad
EOF
  cat > "$dir/authz/src/flows/clean.rs" <<'EOF'
//! Mentions axum::Router and crate::extract::Caller in a comment only.
use shared::http::Thing;
use crate::error::OAuthError;
use super::audit;
/* reqwest::Client in a block comment */
const A: &str = "axum::Json and crate::endpoints::x";
const B: &str = r#"hyper::Body "quoted" crate::extract"#;
fn f(s: &S) -> bool { s.http.is_some() && self::audit::ok() }
fn g<'a>(x: &'a str) -> char { let _ = '"'; 'x' }
EOF
  cat > "$dir/authz/src/upstream/bad.rs" <<'EOF'
use crate::flows::cookie::Key; // bad
fn f(k: &crate::CookieKey) {} // bad
use reqwest::Client;
EOF
  cat > "$dir/authz/src/cimd/fetch.rs" <<'EOF'
use super::super::flows::registration::validate_metadata; // bad
use reqwest::Client;
EOF
  cat > "$dir/mcp-host/src/auth.rs" <<'EOF'
use crate::endpoint::HostGuard; // bad
use axum::http::StatusCode;
use crate::scopes::ScopePolicy;
EOF
  cat > "$dir/mcp-host/src/auth/bearer.rs" <<'EOF'
use super::super::run; // bad
use super::jwks;
fn f() -> rmcp::ErrorData { todo!() }
EOF
  cat > "$dir/mcp-host/src/lib.rs" <<'EOF'
use mcp::tools::TOOL_SCOPES; // bad
use mcp_host_helpers::Thing;
fn f(s: &::mcp::AppState) {} // bad
EOF
  local got want status=0
  got="$(check "$dir" "" | cut -d: -f1,2 | sort -u)" || true
  want="$(cd "$dir" && grep -rn '// bad' authz mcp-host | cut -d: -f1,2 | sort -u)"
  if [ "$got" != "$want" ]; then
    echo "layers self-test: reported lines differ from the planted ones" >&2
    diff <(echo "$want") <(echo "$got") >&2 || true
    status=1
  fi
  rm -rf "$dir"
  return "$status"
}

if [ "${1:-}" = "--self-test" ]; then
  self_test && echo "layers: self-test passed (planted violations found, look-alikes ignored)" >&2
  exit
fi
if out="$(check "$root" "$allowed")"; then
  echo "layers: flows/ is HTTP-free and below endpoints/extract; upstream/, cimd/ and cookie_key.rs below flows/; mcp-host's bearer layer below its hosting, and mcp-host free of mcp" >&2
else
  echo "layers: the layering rules are broken:" >&2
  [ -z "$out" ] || echo "$out"
  exit 1
fi
