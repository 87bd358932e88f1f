"""Escape regressions: each test stages a known attack on a container runtime and checks that
it fails against Vessel and that the host is untouched. Each names the CVE it guards."""

import hashlib
import json
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


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

CAP_NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5,
    "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18, "CAP_MKNOD": 27, "CAP_AUDIT_WRITE": 29,
    "CAP_SETFCAP": 31,
}
# Docker's default set: what `vessel run` gives a container (issue 3).
DOCKER_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]
CONFIG_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]  # conftest's default
PROC_SUPER_MAGIC = "0x9fa0"


def cap_mask(names):
    mask = 0
    for n in names:
        mask |= 1 << CAP_NUMBERS[n]
    return mask


def caps_config(names):
    """Docker's way: bounding, effective and permitted; inheritable and ambient empty."""
    return {"bounding": list(names), "effective": list(names), "permitted": list(names)}


def parse_capbnd(out):
    """`/probe capbnd` -> {"bnd": int, "eff": int, "prm": int}."""
    fields = dict(kv.split("=") for kv in out.split())
    return {k: int(v, 16) for k, v in fields.items()}


def tree(path):
    """What a host directory holds: {relative path: (type, size)} (symlinks not followed)."""
    found = {}
    for dirpath, dirs, files in os.walk(path):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            found[os.path.relpath(p, path)] = (st.st_mode >> 12, st.st_size)
    return found


def host_mounts(prefix):
    """Mount points of the host (our mount namespace) at or below @prefix."""
    prefix = os.path.realpath(prefix)
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            mnt = line.split()[4].replace("\\040", " ")
            if mnt == prefix or mnt.startswith(prefix + "/"):
                found.append(mnt)
    return found


def container_mounts(pid):
    """(root, mount point) of every mount the container's process sees, read from the host."""
    try:
        with open(f"/proc/{pid}/mountinfo", encoding="utf-8") as f:
            return [(ln.split()[3], ln.split()[4]) for ln in f]
    except OSError:
        return []


def dotdots(n=12):
    return "/".join([".."] * n)


def drop_mount(cfg, dest):
    cfg["mounts"] = [m for m in cfg["mounts"] if not m["destination"].startswith(dest)]


def create_and_start(run_rt, b):
    """create + start; returns (id, CompletedProcess of the failing step or None)."""
    cid = new_id()
    res = run_rt("create", "--bundle", b.path, cid)
    if res.returncode != 0:
        return cid, res
    res = run_rt("start", cid)
    return cid, (res if res.returncode != 0 else None)


def container_pid(run_rt, cid):
    res = run_rt("state", cid)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["pid"]


class HostTarget:
    """A host directory an attack aims at: it must end up as it started, with nothing
    mounted on it."""

    def __init__(self, path):
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "host-file").write_text("host\n")
        self.before = tree(self.path)

    def assert_untouched(self, what=""):
        assert host_mounts(self.path) == [], f"{what}: a mount landed on the host: {self.path}"
        after = tree(self.path)
        assert after == self.before, f"{what}: host directory {self.path} changed: {after}"
