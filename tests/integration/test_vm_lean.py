"""`vessel vm` runs the monitor as its own lean binary, vessel-vmm (static outside sanitizer
builds), which `vessel` execs from beside its own executable; --root and --state reach it.

Skipped with the reason when /dev/kvm is missing or not usable.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from test_vm import BUILD, HELLO, _one_line_error, guests, pytestmark, vessel  # noqa: F401

VMM = BUILD / "vessel-vmm"
# The engine's libraries: a VM's process must map none of them.
ENGINE_LIBS = ("libcurl", "libarchive", "libcrypto", "libjson-c", "libgnutls", "libmnl")


def _wait_for_exe(pid, name, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            exe = ""
        if exe.endswith(name):
            return exe
        time.sleep(0.02)
    return exe


def test_vm_run_is_the_lean_monitor(vessel, guests, tmp_path):
    """The pid `vessel vm run` started is vessel-vmm (exec keeps the pid, so vm ps lists it),
    and it maps none of the engine's libraries (none at all when static)."""
    state = str(tmp_path / "state")
    vm = subprocess.Popen([vessel, "--state", state, "vm", "run", "--kernel",
                           str(guests / "pvh.elf"), "--cmdline", "hang", "--name", "lean1",
                           "--console", "none", "--timeout", "20s"])
    try:
        assert _wait_for_exe(vm.pid, "/vessel-vmm") == str(VMM)
        maps = Path(f"/proc/{vm.pid}/maps").read_text()
        assert not [lib for lib in ENGINE_LIBS if lib in maps], maps
        if b"ld-linux" not in VMM.read_bytes()[:4096]:  # static: no interpreter
            assert ".so" not in maps, maps
        for _ in range(100):
            ps = subprocess.run([vessel, "--state", state, "vm", "ps"], capture_output=True,
                                text=True).stdout
            if "lean1" in ps:
                break
            time.sleep(0.05)
        assert "lean1" in ps and f" {vm.pid} " in ps, ps
    finally:
        vm.kill()
        vm.wait()


def test_missing_vmm_is_a_one_line_error(vessel, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy2(vessel, bindir / "vessel")
    r = subprocess.run([str(bindir / "vessel"), "vm", "ps"], capture_output=True, text=True,
                       timeout=30)
    _one_line_error(r, str(bindir / "vessel-vmm"), "No such file or directory")


def _fake_root(root, kernel):
    """root/kernel laid out as scripts/fetch-kernel leaves it, with a test guest as vmlinux."""
    kdir = root / "kernel"
    (kdir / "pkg/lib/modules/0.0-test").mkdir(parents=True)
    (kdir / "version").write_text("0.0-test\n")
    shutil.copy(kernel, kdir / "vmlinux")
    return root


def test_root_reaches_the_default_kernel(vessel, guests, tmp_path):
    """Without --kernel the monitor boots <root>/kernel/vmlinux: root from --root (over
    VESSEL_ROOT), from VESSEL_ROOT, and given to vessel-vmm directly."""
    root = _fake_root(tmp_path / "root", guests / "pvh.elf")
    broken = tmp_path / "broken"  # a kernel but no version file: an error, never a fetch
    (broken / "kernel").mkdir(parents=True)
    shutil.copy(guests / "pvh.elf", broken / "kernel" / "vmlinux")
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"x" * 100)
    args = ["--state", str(tmp_path / "state"), "vm", "run", "--initrd", str(initrd),
            "--cmdline", "exit=5", "--timeout", "20s"]
    env = dict(os.environ, VESSEL_ROOT=str(broken))
    runs = [
        ([vessel, "--root", str(root), *args], env),
        ([vessel, *args], dict(os.environ, VESSEL_ROOT=str(root))),
        ([str(VMM), "--root", str(root), *args], env),
    ]
    for cmd, e in runs:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=e)
        assert r.returncode == 5, (cmd, r.stderr)
        assert HELLO in r.stdout
    r = subprocess.run([vessel, *args], capture_output=True, text=True, timeout=30, env=env)
    _one_line_error(r, str(broken / "kernel" / "version"))


@pytest.mark.parametrize("words", [["vm", "run"], ["run"]])
def test_vmm_direct(guests, tmp_path, words):
    r = subprocess.run([str(VMM), "--state", str(tmp_path), *words, "--kernel",
                        str(guests / "pvh.elf"), "--cmdline", "exit=9", "--timeout", "20s"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 9, r.stderr
    assert HELLO in r.stdout


def test_vmm_help_and_bad_global_flag():
    r = subprocess.run([str(VMM), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "usage: vessel vm run" in r.stdout, r.stderr
    r = subprocess.run([str(VMM), "--bogus", "ps"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "usage: vessel-vmm" in r.stderr
