"""What each layer of a request costs, from `perf script` output (perf record --call-graph dwarf).

Reads the script text on stdin and prints, for every layer, its share of the samples: a sample
counts for the layer of its innermost frame that is not generic library code (allocation,
copies, formatting, collections), so memory allocated by hyper counts for hyper, and a write
system call made for a response counts for the kernel's network path. Used by
bench/profile.sh.
"""

import collections
import re
import sys

# (layer, pattern on a frame's symbol), most specific first.
LAYERS = [
    ("RSA (token signing or verification)", r"aws_lc|bn_|rsaz"),
    ("token verification and cache", r"shared::token::"),
    ("store (SQLite; on /mcp, the revocation read)", r"sqlite3|rusqlite|shared::store::"),
    ("kept tools/list answers", r"mcp_host::tool_list"),
    ("bearer layer (token parse, scopes, body)", r"mcp_host::auth"),
    ("Host/Origin check", r"mcp_host::endpoint"),
    ("rmcp (JSON-RPC, handler, serialization)", r"rmcp::"),
    ("access log and request span (tracing)", r"tracing_subscriber|tracing_core|tracing::|nu_ansi_term"),
    ("request id (uuid)", r"request_id|uuid|getrandom"),
    ("CORS", r"tower_http::cors"),
    ("edge checks (origin secret)", r"shared::edge"),
    ("kernel: send the answer", r"writev|tcp_sendmsg|sock_write_iter"),
    ("kernel: write the log (stderr)", r"ksys_write|ext4_|vfs_write$"),
    ("kernel: read the request", r"tcp_recvmsg|sock_read_iter|__libc_recv|recvfrom|\bread\b"),
    ("kernel: wait and wake (epoll, futex, scheduler)", r"epoll|futex|schedule|finish_task_switch"),
    ("JSON (serde_json, outside the layers above)", r"serde_json::"),
    ("HTTP/1 (hyper)", r"hyper::|httparse|http::header"),
    ("axum routing and middleware", r"axum::|tower::"),
    ("tokio runtime", r"tokio::"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in LAYERS]
FRAME = re.compile(r"^\s*[0-9a-f]+\s+(.+?)(?:\+0x[0-9a-f]+)?\s+\((.*)\)\s*$")


GENERIC = re.compile(
    r"^(core::|alloc::|std::|bytes::|serde::|serde_core::|__rust|_?_?(lib)?c?_?malloc|malloc|free|cfree"
    r"|realloc|_int_|unlink_chunk|__mem|__GI___mem|<?alloc::|tokio_util::sync::cancellation_token"
    r"|sharded_slab::|.*::drop_in_place|.*::clone$|.*::clone_box$)"
)


def own_name(symbol):
    """The function's own path: `<A<T> as B>::f` becomes `A::f`, generic arguments dropped."""
    if symbol.startswith("<") and " as " in symbol:
        depth, end = 0, None
        for i, ch in enumerate(symbol):
            if ch == "<":
                depth += 1
            elif ch == ">":
                depth -= 1
            elif depth == 1 and symbol.startswith(" as ", i):
                end = i
                break
        if end is not None:
            rest = symbol[symbol.rfind(">::") + 1:] if ">::" in symbol else ""
            symbol = symbol[1:end] + rest
    while True:
        stripped = re.sub(r"<[^<>]*>", "", symbol)
        if stripped == symbol:
            return symbol
        symbol = stripped


# LAYERS_OTHERS=1 names the frames counted as "other" (to extend LAYERS).
OTHERS = bool(__import__("os").environ.get("LAYERS_OTHERS"))
SQLITE_CALLER = re.compile(r"^(sqlite3|unix(Write|Sync|Lock|Unlock|ShmLock|FileControl|Read)|seekAndWrite|walWrite|walCheckpoint)")
KERNEL = [(name, pattern) for name, pattern in COMPILED if name.startswith("kernel")]


def layer_of(frames):
    """The layer of the innermost frame that is not generic library code (allocation, copies,
    formatting, collections, libc): the code that asked for the work. Time in the kernel counts
    for the system call (or wait) it serves."""
    if frames and "kernel" in frames[0][1]:
        user = [symbol for symbol, dso in frames if "kernel" not in dso]
        # A system call SQLite made (its log and checkpoint writes, its locks) is the store's.
        if any(SQLITE_CALLER.match(symbol) for symbol in user[:8]):
            return "kernel: SQLite file I/O and locks (log writes, checkpoints)"
        for symbol, dso in frames:
            if "kernel" not in dso:
                break
            for layer, pattern in KERNEL:
                if pattern.search(symbol):
                    return layer
        return "kernel: other (interrupts, page faults)"
    for symbol, dso in frames:
        name = own_name(symbol)
        # Generic code, libc, and inlined fragments without a path cannot name their caller.
        if GENERIC.match(name) or "libc" in dso or "::" not in name:
            continue
        for layer, pattern in COMPILED:
            if pattern.search(name):
                return layer
        return f"other: {name}" if OTHERS else "other"
    return "allocation and copies (caller unknown)"


def main():
    counts = collections.Counter()
    frames = []
    for line in sys.stdin:
        if not line.strip():
            if frames:
                counts[layer_of(frames)] += 1
            frames = []
            continue
        match = FRAME.match(line)
        if match and not line[0].isalpha():
            frames.append((match.group(1), match.group(2)))
    if frames:
        counts[layer_of(frames)] += 1
    total = sum(counts.values())
    if not total:
        sys.exit("layers.py: no samples on stdin")
    for name, n in counts.most_common():
        print(f"{100 * n / total:6.1f}%  {name}")
    print(f"{total} samples")


if __name__ == "__main__":
    main()
