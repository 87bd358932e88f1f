"""Escape regressions: each test stages a known attack on a container runtime and checks that
it fails against Vessel and that the host is untouched. Each names the CVE it guards."""

import hashlib
import os
import subprocess
import time

import pytest

from conftest import new_id, wait_status


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def runtime_binary(vessel):
    real = os.path.realpath(vessel)
    before = sha256(real)
    yield real
    assert sha256(real) == before, "the runtime binary on the host was modified"


@pytest.mark.vessel_only
@pytest.mark.parametrize("how", ["direct", "shebang"])
def test_cve_2019_5736_proc_self_exe(run_rt, bundle, runtime_binary, how):
    """A container whose program is /proc/self/exe (or a script run by it) must not get the
    runtime's binary: the last exec goes through a sealed trampoline, which refuses."""
    if how == "direct":
        b = bundle(args=["/proc/self/exe", "--version"])
    else:
        b = bundle(args=["/evil"])
        (b.rootfs / "evil").write_text("#!/proc/self/exe\n")
        (b.rootfs / "evil").chmod(0o755)
    res = run_rt("run", "--bundle", b.path, new_id())
    assert "version" not in res.stdout and "usage" not in (res.stdout + res.stderr)
    assert res.returncode == 127, (res.returncode, res.stdout, res.stderr)


def test_cve_2019_5736_grab_exe_during_exec(run_rt, bundle, runtime_binary):
    """A process in the container grabs /proc/N/exe of every process it can see while the
    runtime execs into the container, then tries to reopen them for writing."""
    b = bundle(args=["/bin/sh", "-c", "/probe grab-exe 3 /bin/busybox > /tmp/grab.txt"])
    cid = new_id()
    assert run_rt("create", "--bundle", b.path, cid).returncode == 0
    assert run_rt("start", cid).returncode == 0
    deadline = time.time() + 2.5
    while time.time() < deadline:
        res = run_rt("exec", cid, "/probe", "true")
        if res.returncode != 0:
            break
    assert wait_status(run_rt, cid, "stopped", timeout=15)
    out = (b.rootfs / "tmp/grab.txt").read_text()
    assert out.startswith("grabbed "), out
    assert out.split()[-1] == "0", f"a host binary was writable from the container: {out}"
