"""How the native module is linked.

A private static copy of libstdc++ inside the module made every error message with a number in it
segfault on the GPU machine (GCC 13.3 under /opt/gcc ships only libstdc++.a in its own lib folder);
CMakeLists.txt links the shared runtime explicitly. These tests read the module's ELF dynamic section.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import background
import pytest
import torch

import rankcore
from rankcore import _C

ELF_MAGIC = b"\x7fELF"
SHT_DYNAMIC = 6
SHT_DYNSYM = 11
DT_NULL, DT_NEEDED = 0, 1
# libstdc++ internals that must come from the shared runtime: a module that defines them carries its
# own copy (static libstdc++, or a partial one when the shared runtime found at link time is older).
CXX_RUNTIME_SYMBOLS = {
    "_ZNSo9_M_insertIlEERSoT_",  # std::ostream::_M_insert<long>, where the crash was
    "_ZNSt6localeC1Ev",  # std::locale::locale()
    "_ZNSt8ios_base4InitC1Ev",  # std::ios_base::Init::Init()
}


def _sections(path: Path):
    """(file bytes, section headers) of a 64-bit little-endian ELF file (no readelf needed)."""
    data = path.read_bytes()
    if data[:4] != ELF_MAGIC or data[4] != 2 or data[5] != 1:
        pytest.skip("not a 64-bit little-endian ELF module")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    if shnum == 0:
        pytest.skip("ELF file without section headers")
    return data, [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]


def _string(data: bytes, offset: int) -> str:
    return data[offset:data.index(b"\0", offset)].decode()


def needed_libraries(path: Path) -> list[str]:
    """DT_NEEDED entries of the module's dynamic section."""
    data, sections = _sections(path)
    needed = []
    for _name, sh_type, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if sh_type != SHT_DYNAMIC:
            continue
        strtab_offset = sections[link][4]
        for pos in range(offset, offset + size, entsize or 16):
            tag, value = struct.unpack_from("<qQ", data, pos)
            if tag == DT_NULL:
                break
            if tag == DT_NEEDED:
                needed.append(_string(data, strtab_offset + value))
    return needed


def defined_dynamic_symbols(path: Path) -> set[str]:
    """Names of the symbols the module defines (dynamic symbol table, section index != UNDEF)."""
    data, sections = _sections(path)
    names = set()
    for _name, sh_type, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if sh_type != SHT_DYNSYM:
            continue
        strtab_offset = sections[link][4]
        for pos in range(offset, offset + size, entsize or 24):
            st_name, _st_info, _st_other, st_shndx = struct.unpack_from("<IBBH", data, pos)
            if st_shndx != 0 and st_name:
                names.add(_string(data, strtab_offset + st_name))
    return names


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF modules only")
def test_module_uses_the_shared_cxx_runtime():
    needed = needed_libraries(Path(_C.__file__))
    assert needed, "no DT_NEEDED entries found: parser or module broken"
    assert any(lib.startswith("libc10") for lib in needed), needed  # the parser reads real entries
    assert any(lib.startswith(("libstdc++.so", "libc++.so")) for lib in needed), (
        f"rankcore's module does not load a shared C++ runtime ({needed}): libstdc++ was linked statically, "
        "and errors raised in ops can crash the process")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF modules only")
def test_module_carries_no_private_cxx_runtime():
    defined = defined_dynamic_symbols(Path(_C.__file__))
    assert "PyInit__C" in defined, "parser did not find the module's own init symbol"
    private = sorted(defined & CXX_RUNTIME_SYMBOLS)
    assert not private, f"rankcore's module defines C++ runtime symbols itself: {private}"


def test_error_message_with_numbers_reaches_python():
    # the message formats int64 values (`os << int64_t`), which is where a private libstdc++ crashed
    with pytest.raises(ValueError, match=r"-1"):
        torch.ops.rankcore.walk_count(torch.tensor([0, 1]), torch.tensor([0]), torch.ones(1, 1, dtype=torch.long), -1)
    assert rankcore.build_info()["version"]


def _import_under_another_torch(folder: str):
    import subprocess
    import sys

    code = "import torch; torch.__version__ = '9.9.0+cpu'; import rankcore"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


background.register("ops: import under another torch", _import_under_another_torch,
                    needed_by="test_import_refuses_a_torch_other_than_the_build_one")


@pytest.mark.slow
def test_import_refuses_a_torch_other_than_the_build_one(background_result):
    proc = background_result("ops: import under another torch")  # a process of its own, in the background
    assert proc.returncode != 0
    assert "rankcore was built against torch" in proc.stderr and "9.9.0" in proc.stderr
    import rankcore
    import torch

    assert rankcore._C.built_with_torch() == ".".join(torch.__version__.split("+")[0].split(".")[:2])
