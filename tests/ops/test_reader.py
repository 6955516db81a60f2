"""The native edge-list reader (rankcore.ops.read_edge_list) against an independent Python parser written
from the format's rules, on generated files, plus the inputs of the second adversarial pass: first-line
"headers" that are data, CR-only line ends, binary data, id limits, non-regular files, a file truncated
while it is read, and messages that stay one short, printable line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import background
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rankcore import ops
from rankcore.distributed.io import read_edge_list_shard

INT64 = (-(2**63), 2**63 - 1)
SEPS = rb"[ \t,\v\f]+"


def _number_like(field: bytes) -> bool:
    return re.match(rb"[+-]?(\d|\.\d)", field) is not None


def _is_header(line: bytes) -> bool:
    text = line.split(b"#", 1)[0]
    if any((b < 0x20 and b not in b" \t\v\f") or b == 0x7F for b in text):
        return False
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(_number_like(f) for f in re.split(SEPS, text) if f)


def reference_parse(data: bytes, max_id: int | None = None):
    """(edges [[u...], [v...]], None) or (None, (line number, kind)); kinds: 'few', 'int', 'neg', 'max'.
    Straight from the rules: a UTF-8 BOM at the start is skipped; lines end at CRLF, LF or CR; '#'
    starts a comment; fields are split at spaces, tabs, commas, \\v, \\f; the first data line is skipped
    when it is a header (plain text, no number-like field); the first two fields are decimal int64."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    us, vs = [], []
    seen_data = False
    for number, line in enumerate(re.split(rb"\r\n|\r|\n", data), 1):
        fields = [f for f in re.split(SEPS, line.split(b"#", 1)[0]) if f]
        if not fields:
            continue
        first = not seen_data
        seen_data = True
        if first and _is_header(line):
            continue
        if len(fields) < 2:
            return None, (number, "few")
        ids = []
        for f in fields[:2]:
            if re.fullmatch(rb"[+-]?\d+", f) is None or not INT64[0] <= int(f) <= INT64[1]:
                return None, (number, "int")
            ids.append(int(f))
        if max_id is not None and min(ids) < 0:
            return None, (number, "neg")
        if max_id is not None and max(ids) > max_id:
            return None, (number, "max")
        us.append(ids[0])
        vs.append(ids[1])
    return [us, vs], None


MESSAGES = {"few": "expected two vertex ids", "int": "vertex ids must be integers", "neg": "negative vertex id",
            "max": "vertex id in"}


def _check_same(path, data: bytes, max_id=None):
    want, error = reference_parse(data, max_id)
    if error is None:
        got = ops.read_edge_list(str(path), max_id=max_id)
        assert got.tolist() == (want if want[0] else [[], []])
        return got
    line, kind = error
    with pytest.raises(ValueError) as info:
        ops.read_edge_list(str(path), max_id=max_id)
    message = str(info.value)
    assert f"{path.name}:{line}: {MESSAGES[kind]}" in message, (message, error)
    assert message.isprintable() and len(message) < 400 + len(str(path))
    return None


_fields = st.one_of(
    st.integers(0, 10**6).map(lambda x: str(x).encode()),
    st.integers(*INT64).map(lambda x: str(x).encode()),
    st.sampled_from([b"-5", b"+7", b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
                     b"1.5", b".5", b"src", b"dst", b"edges", b"node1", b"0x1F", b"-", b"1e3", b"\xff\xfe",
                     b"\x00", b"caf\xc3\xa9", b"\xef\xbb\xbf0", b"nan"]),
)
_line = st.tuples(
    st.lists(_fields, max_size=4),
    st.sampled_from([b" ", b"\t", b",", b", ", b"  \t"]),
    st.sampled_from([b"", b" # comment", b"#", b" # 1 2"]),
    st.sampled_from([b"", b" ", b"\t"]),
).map(lambda t: t[3] + t[1].join(t[0]) + t[2])
_file = st.tuples(
    st.sampled_from([b"", b"\xef\xbb\xbf"]),
    st.lists(st.tuples(_line, st.sampled_from([b"\n", b"\r\n", b"\r"])), max_size=12),
    st.booleans(),
).map(lambda t: t[0] + b"".join(line + end for line, end in t[1])[: None if t[2] else -1])


@settings(max_examples=400, deadline=None)
@given(data=_file, limited=st.booleans())
def test_reader_matches_the_reference_on_generated_files(tmp_path_factory, data, limited):
    path = tmp_path_factory.mktemp("gen") / "g.txt"
    path.write_bytes(data)
    got = _check_same(path, data, 2**31 - 2 if limited else None)
    if got is not None:  # byte-range shards concatenate to the whole file, for every split
        size = len(data)
        for world in (2, 3):
            shards = [read_edge_list_shard(path, r, world) for r in range(world)]
            assert torch.equal(torch.cat(shards, dim=1), ops.read_edge_list(str(path))), size


def test_large_file_with_mixed_line_ends_and_long_lines_across_blocks(tmp_path):
    """Several MB (parallel chunks, many 256 KB blocks): lines and comments that straddle block and chunk
    boundaries, every line-end style, a line longer than a block."""
    gen = torch.Generator().manual_seed(1)
    ends = [b"\n", b"\r\n", b"\r"]
    parts = [b"\xef\xbb\xbfsource target\r\n"]
    ids = torch.randint(0, 10**9, (2, 200_000), generator=gen).tolist()
    for i, (u, v) in enumerate(zip(*ids)):
        tail = b" # " + b"x" * 300_000 if i == 77_777 else (b" 0.25" if i % 5 == 0 else b"")
        parts.append(f"{u}\t{v}".encode() + tail + ends[i % 3])
    data = b"".join(parts)
    path = tmp_path / "mixed.txt"
    path.write_bytes(data)
    got = _check_same(path, data)
    assert got.shape == (2, 200_000)
    # an error in the middle keeps its exact line number
    parts[150_001] = b"1 2 3\r" + b"7 oops\n"
    data = b"".join(parts)
    path.write_bytes(data)
    _check_same(path, data)


@pytest.mark.parametrize("text,line", [
    (b"\xef\xbb\xbf0 1\n1 0\n", None),          # a BOM: read, not dropped as a header
    (b"9223372036854775808 1\n0 1\n", 1),       # id >= 2^63 on the first line: an error there
    (b"1.5 2\n0 1\n", 1),
    (b"0x1 2\n", 1),
    (b"\x00\x01\x02binary\xff\xfe", 1),          # binary data is not a header
    (b"edges\n0 1\n1 0\n", None),               # a one-word header
    (b"src dst\n0 1\n1 0\n", None),
    (b"caf\xc3\xa9 th\xc3\xa9\n0 1\n", None),   # UTF-8 words
])
def test_first_line_rules(tmp_path, text, line):
    path = tmp_path / "first.txt"
    path.write_bytes(text)
    want, error = reference_parse(text)
    assert (error is None) == (line is None) and (error is None or error[0] == line)
    _check_same(path, text)


def test_cr_only_line_ends_read_every_edge(tmp_path):
    path = tmp_path / "mac.txt"
    path.write_bytes(b"# old Mac\r0 1\r1 0\r1 2\r2 1\r")
    assert ops.read_edge_list(str(path)).tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    path.write_bytes(b"0 1\r1 0\r\r\rx y\r")
    with pytest.raises(ValueError, match=r"mac.txt:5: vertex ids must be integers"):
        ops.read_edge_list(str(path))


def test_id_limits_name_the_line(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("0 1\n1 0\n-5 1\n")
    with pytest.raises(ValueError, match=r"ids.txt:3: negative vertex id in '-5 1'.*relabel"):
        ops.read_edge_list(str(path), max_id=10)
    assert ops.read_edge_list(str(path)).tolist() == [[0, 1, -5], [1, 0, 1]]
    path.write_text("0 1\n# c\n1 2147483647\n")
    with pytest.raises(ValueError, match=r"ids.txt:3: vertex id in '1 2147483647' is above 2147483646.*relabel"):
        ops.read_edge_list(str(path), max_id=2**31 - 2)
    with pytest.raises(ValueError, match="max_id must be >= 0"):
        ops.read_edge_list(str(path), max_id=-2)


def test_bad_lines_are_cut_and_escaped(tmp_path):
    path = tmp_path / "long.txt"
    path.write_bytes(b"0 1\n" + b"1 \x1b[31m\xff" + b"9" * 5_000_000 + b"\n")
    with pytest.raises(ValueError) as info:
        ops.read_edge_list(str(path))
    message = str(info.value)
    assert "long.txt:2: vertex ids must be integers" in message
    assert "\\x1b[31m\\xff" in message and message.endswith("...'") and len(message) < 300
    assert message.isprintable()


def test_a_line_without_two_ids_in_a_mib_is_an_error_not_a_memory_blowup(tmp_path):
    path = tmp_path / "blob.txt"
    path.write_bytes(b"0 1\n" + b" " * (3 << 20) + b"1 2\n")
    with pytest.raises(ValueError, match=r"blob.txt:2: no two vertex ids within the first 1048576 bytes"):
        ops.read_edge_list(str(path))


def test_non_regular_files_are_refused_without_blocking(tmp_path):
    folder = tmp_path / "x.txt"
    folder.mkdir()
    with pytest.raises(ValueError, match="x.txt: is a directory"):
        ops.read_edge_list(str(folder))
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        ops.read_edge_list(str(fifo))  # no writer: a blocking open would hang here


_TRUNCATE_SCRIPT = textwrap.dedent("""
    import os, sys, threading, time, torch
    from rankcore import ops
    path = sys.argv[1]
    content = b"".join(b"%d %d\\n" % (i, i + 1) for i in range(2_000_000))
    cut_at = content.index(b"\\n", 1000) + 1
    with open(path + ".cut", "wb") as f:
        f.write(content[:cut_at])
    after = ops.read_edge_list(path + ".cut")  # what a read that starts after the cut returns
    full = None
    outcomes = set()
    for delay in (0.0, 0.002, 0.005, 0.01, 0.02, 0.04):
        with open(path, "wb") as f:
            f.write(content)
        if full is None:
            full = ops.read_edge_list(path)
        def cut():
            time.sleep(delay)
            os.truncate(path, cut_at)
        t = threading.Thread(target=cut)
        t.start()
        try:
            got = ops.read_edge_list(path)
            # the whole file (read before the cut) or the cut file (opened after it); nothing in between
            outcomes.add("read" if torch.equal(got, full) else "after" if torch.equal(got, after) else "mixed")
        except ValueError as err:
            assert "file changed while being read" in str(err), err
            outcomes.add("changed")
        t.join()
    print(sorted(outcomes))
""")


def _truncated_while_read(folder: str) -> subprocess.CompletedProcess:
    path = os.path.join(folder, "shrinking.txt")
    return subprocess.run([sys.executable, "-c", _TRUNCATE_SCRIPT, path], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OMP_NUM_THREADS": "2"})


background.register("ops: a file truncated while read", _truncated_while_read,
                    needed_by="test_a_file_truncated_while_read_is_an_error_not_sigbus")


@pytest.mark.slow
def test_a_file_truncated_while_read_is_an_error_not_sigbus(background_result):
    """The old reader memory-mapped the file: truncating it under the parse killed the process (SIGBUS). The
    run is a process of its own (in the background beside the other tests: tests/background.py)."""
    proc = background_result("ops: a file truncated while read")
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert "mixed" not in proc.stdout, proc.stdout  # never a silently shortened result
