"""Escape regressions: each test stages a known attack on a container runtime and checks that
it fails against Vessel and that the host is untouched. Each names the CVE it guards."""

import hashlib
import json
import os
import subprocess
import time

import pytest

from conftest import CGROUP_PARENT, new_id, wait_status


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
    """Removes the mount on @dest and every mount below it from the config."""
    cfg["mounts"] = [m for m in cfg["mounts"]
                     if m["destination"] != dest and not m["destination"].startswith(dest + "/")]


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


# ---------------------------------------------------------------------------------------------
# CVE-2024-21626: a leaked host fd as the process's cwd
# ---------------------------------------------------------------------------------------------

HOST_HOSTNAME = "/etc/hostname"
# Prints the cwd, then what ../../../etc/hostname (far enough up to reach "/") holds.
CWD_ESCAPE = f"/probe cwd; /probe cat {dotdots()}/etc/hostname"


def host_hostname():
    try:
        with open(HOST_HOSTNAME, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def check_cwd_escape(res, rootfs, what):
    """@res ran CWD_ESCAPE: it failed, or its cwd was inside the container and what it read
    was the container's file."""
    host = host_hostname()
    out = res.stdout
    if host and host.strip():
        assert host.strip() not in out.splitlines()[1:], (
            f"{what}: read the host's {HOST_HOSTNAME} through the cwd: {out!r}")
    if res.returncode != 0 and not out:
        return  # refused before the process ran: the fix
    lines = out.splitlines()
    assert lines, (what, res.returncode, out, res.stderr)
    assert lines[0].startswith("/") and "unreachable" not in lines[0], (
        f"{what}: the process's cwd is outside the container: {lines[0]!r}")
    assert lines[1:] == [(rootfs / "etc/hostname").read_text().strip()], (what, out)


@pytest.mark.parametrize("fd", range(3, 10))
def test_cve_2024_21626_process_cwd_leaked_fd(run_rt, bundle, fd):
    """CVE-2024-21626 (runc "Leaky Vessels"): process.cwd = /proc/self/fd/N names an fd the
    runtime leaked into the container's init (a host directory); chdir through it would put
    the process in the host's file system. The create must fail, or the cwd be inside."""
    b = bundle(args=["/bin/sh", "-c", CWD_ESCAPE], cwd=f"/proc/self/fd/{fd}")
    (b.rootfs / "etc/hostname").write_text("container-only\n")
    res = run_rt("run", "--bundle", b.path, new_id())
    check_cwd_escape(res, b.rootfs, f"process.cwd /proc/self/fd/{fd}")


def test_cve_2024_21626_exec_cwd_leaked_fd(run_rt, bundle):
    """CVE-2024-21626 through `exec --cwd /proc/self/fd/N`: the exec'd process must not
    start in a host directory that the runtime's exec path had open."""
    b = bundle(args=["/probe", "sleep", "30"])
    (b.rootfs / "etc/hostname").write_text("container-only\n")
    cid, failed = create_and_start(run_rt, b)
    assert failed is None, failed.stderr
    for fd in range(3, 10):
        res = run_rt("exec", "--cwd", f"/proc/self/fd/{fd}", cid, "/bin/sh", "-c", CWD_ESCAPE)
        check_cwd_escape(res, b.rootfs, f"exec --cwd /proc/self/fd/{fd}")


# ---------------------------------------------------------------------------------------------
# CVE-2021-30465: a symlinked mount destination, and the swap race on a shared volume
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("link", ["absolute", "relative"])
def test_cve_2021_30465_symlinked_mount_destination(run_rt, bundle, tmp_path, link):
    """CVE-2021-30465: a bind-mount destination that is a symlink to a host path must be
    resolved inside the rootfs; the host directory it names gets nothing."""
    host = HostTarget(tmp_path / "host-target")
    src = tmp_path / "volume"
    src.mkdir()
    (src / "from-volume").write_text("volume\n")
    target = str(host.path) if link == "absolute" else dotdots() + str(host.path)
    b = bundle(args=["/probe", "ls", str(host.path)], extra_mounts=[
        {"destination": "/mnt/vol", "type": "bind", "source": str(src), "options": ["rbind"]}])
    (b.rootfs / "mnt/vol").symlink_to(target)
    res = run_rt("run", "--bundle", b.path, new_id())
    host.assert_untouched(f"destination symlink to {target}")
    if res.returncode == 0:
        # The mount landed where the symlink points, read inside the rootfs.
        assert res.stdout == "from-volume\n", res.stdout
        assert (b.rootfs / str(host.path).lstrip("/")).is_dir()


def test_cve_2021_30465_swap_race(run_rt, bundle, tmp_path):
    """CVE-2021-30465 (the race): two containers share a volume. The attacker's container
    swaps a directory in it with a symlink to a host directory, as fast as it can, while the
    victim containers are created with a mount whose destination is that directory. Every
    mount must land inside the victim's rootfs: the host directory never gets a mount, and
    every configured mount is visible from inside the victim."""
    host = HostTarget(tmp_path / "host-target")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    src = tmp_path / "payload"
    src.mkdir()
    (src / "payload").write_text("payload\n")
    attacker = bundle(args=["/probe", "swap-race", "/shared", "d", str(host.path), "4"],
                      extra_mounts=[{"destination": "/shared", "type": "bind",
                                     "source": str(shared), "options": ["rbind"]}])
    acid, failed = create_and_start(run_rt, attacker)
    assert failed is None, failed.stderr
    deadline = time.monotonic() + 5
    while not (shared / ".ready").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (shared / ".ready").exists(), "the attacker never started"
    victim = bundle(args=["/probe", "sleep", "30"], extra_mounts=[
        {"destination": "/shared", "type": "bind", "source": str(shared), "options": ["rbind"]},
        {"destination": "/shared/d", "type": "bind", "source": str(src), "options": ["rbind"]},
    ])
    src_root = os.path.realpath(src)
    tries = created = 0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        tries += 1
        cid = new_id()
        res = run_rt("create", "--bundle", victim.path, cid)
        host.assert_untouched(f"create #{tries}")
        if res.returncode == 0:
            created += 1
            mounts = container_mounts(container_pid(run_rt, cid))
            landed = [mp for root, mp in mounts if root != "/" and src_root.endswith(root)]
            assert landed, (
                f"create #{tries}: the payload mount is not inside the container: {mounts}")
        run_rt("delete", "--force", cid)
    wait_status(run_rt, acid, "stopped", timeout=5)
    host.assert_untouched("after the race")
    assert created > 0, f"no victim container was created in {tries} tries: {res.stderr}"


# ---------------------------------------------------------------------------------------------
# CVE-2019-16884, CVE-2023-27561: /proc as a symlink, a fake /proc
# ---------------------------------------------------------------------------------------------


def fake_proc(path):
    """A directory dressed up as procfs: what an image or a volume can put at /proc. It says
    the kernel knows no capability past CAP_CHOWN; its self/fd/N are symlinks to a directory
    (/tmp/fd-target in the rootfs: make it), so that a runtime which mounts through
    /proc/self/fd/N after pivot_root goes on instead of failing."""
    (path / "sys/kernel").mkdir(parents=True)
    (path / "sys/kernel/cap_last_cap").write_text("0\n")
    (path / "self/fd").mkdir(parents=True)
    for n in range(64):
        (path / "self/fd" / str(n)).symlink_to("/tmp/fd-target")
    (path / "self/oom_score_adj").write_text("0\n")
    return path


def check_confined(res, caps, what):
    """@res ran `/probe capbnd` (as root, noNewPrivileges false): the process must hold no
    capability outside @caps, in any set. A runtime that believed a fake /proc about the
    number of capabilities leaves the bounding set full, and root's execve then grants all."""
    assert res.returncode == 0, (what, res.stdout, res.stderr)
    got = parse_capbnd(res.stdout)
    allowed = cap_mask(caps)
    for name in ("bnd", "eff", "prm"):
        extra = got[name] & ~allowed
        assert extra == 0, (
            f"{what}: capabilities outside the configured set in {name}: {extra:#x} "
            f"(CAP_SYS_ADMIN is bit 21): {res.stdout.strip()}")


def host_proc_state():
    return host_mounts("/proc"), os.path.realpath("/proc")


@pytest.mark.parametrize("link", ["/evil", "escaping"])
def test_cve_2019_16884_proc_symlink(run_rt, bundle, tmp_path, link):
    """CVE-2019-16884: the image's /proc is a symlink. The runtime must refuse, or mount a
    real procfs inside the rootfs (where the link leads, read inside the rootfs) and then use
    that procfs: the container's /proc is procfs, its masks hold, its capabilities are the
    configured ones; the host's /proc and the host directory the link names are untouched."""
    host = HostTarget(tmp_path / "host-target")
    before = host_proc_state()
    target = "/evil" if link == "/evil" else "/" + dotdots() + str(host.path)
    script = ("/probe statfs /proc; /probe stat /proc/keys; /probe open-write "
              "/proc/sys/kernel/hostname; /probe capbnd")
    b = bundle(args=["/bin/sh", "-c", script], no_new_privs=False)
    (b.rootfs / "proc").rmdir()
    (b.rootfs / "proc").symlink_to(target)
    if link == "/evil":
        (b.rootfs / "evil").mkdir()
    res = run_rt("run", "--bundle", b.path, new_id())
    host.assert_untouched(f"/proc -> {target}")
    assert host_proc_state() == before, "the host's /proc changed"
    if res.returncode != 0 and not res.stdout:
        return  # refused
    lines = res.stdout.splitlines()
    assert res.returncode == 0 and len(lines) == 4, (res.stdout, res.stderr)
    assert lines[0] == PROC_SUPER_MAGIC, f"/proc is not procfs: {lines[0]}"
    assert lines[1].startswith("char 1:3"), f"/proc/keys is not masked: {lines[1]}"
    assert lines[2] == "EROFS", f"/proc/sys is writable: {lines[2]}"
    check_confined(subprocess.CompletedProcess([], 0, lines[3]), CONFIG_CAPS, "/proc symlink")


def test_cve_2023_27561_fake_proc_volume(run_rt, bundle, tmp_path):
    """CVE-2023-27561 (CVE-2019-16884 again): a volume mounted over /proc after procfs (an
    image's `VOLUME /proc`) gives the container a fake /proc. The runtime must refuse it, or
    must not believe it: whatever it reads there after pivot_root (cap_last_cap here) must not
    weaken the confinement."""
    fake = fake_proc(tmp_path / "fake-proc")
    before = tree(fake)
    b = bundle(args=["/probe", "capbnd"], no_new_privs=False, extra_mounts=[
        {"destination": "/proc", "type": "bind", "source": str(fake), "options": ["rbind"]}])
    (b.rootfs / "tmp/fd-target").mkdir()
    res = run_rt("run", "--bundle", b.path, new_id())
    assert tree(fake) == before, "the runtime wrote into the fake /proc on the host"
    if res.returncode != 0 and not res.stdout:
        return  # refused
    check_confined(res, CONFIG_CAPS, "fake /proc volume")


def test_cve_2019_16884_proc_symlink_into_volume(run_rt, bundle, tmp_path):
    """CVE-2019-16884 with a volume: the image's /proc is a symlink into a directory that a
    later mount (a volume) covers, so procfs ends up hidden and /proc shows the volume's fake
    files. The runtime must refuse, or not believe them."""
    vol = tmp_path / "volume"
    fake_proc(vol / "proc")
    b = bundle(args=["/probe", "capbnd"], no_new_privs=False, extra_mounts=[
        {"destination": "/mnt/vol", "type": "bind", "source": str(vol), "options": ["rbind"]}])
    (b.rootfs / "tmp/fd-target").mkdir()
    (b.rootfs / "proc").rmdir()
    (b.rootfs / "proc").symlink_to("/mnt/vol/proc")
    res = run_rt("run", "--bundle", b.path, new_id())
    if res.returncode != 0 and not res.stdout:
        return  # refused
    check_confined(res, CONFIG_CAPS, "/proc -> a volume")


def test_cve_2019_16884_proc_symlink_swapped_before_exec(run_rt, bundle):
    """CVE-2019-16884 at exec time: with the image's /proc a symlink (procfs mounted where it
    pointed), root in the container can re-point /proc at fake files. `exec` then enters the
    container's mount namespace: it must not believe them either."""
    setup = ("mkdir -p /fake/sys/kernel && echo 0 > /fake/sys/kernel/cap_last_cap && "
             "ln -sfn /fake /proc && touch /tmp/ready && exec /probe sleep 30")
    b = bundle(args=["/bin/sh", "-c", setup], no_new_privs=False)
    (b.rootfs / "proc").rmdir()
    (b.rootfs / "proc").symlink_to("/evil")
    (b.rootfs / "evil").mkdir()
    cid, failed = create_and_start(run_rt, b)
    if failed is not None:
        return  # a /proc symlink refused
    deadline = time.monotonic() + 5
    while not (b.rootfs / "tmp/ready").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert os.readlink(b.rootfs / "proc") == "/fake", "the container could not re-point /proc"
    res = run_rt("exec", cid, "/probe", "capbnd")
    if res.returncode != 0 and not res.stdout:
        return  # refused
    check_confined(res, CONFIG_CAPS, "exec with /proc re-pointed")


# ---------------------------------------------------------------------------------------------
# CVE-2025-31133, CVE-2025-52565: a symlinked /dev/null, a symlinked /dev/pts entry
# ---------------------------------------------------------------------------------------------

# The CVE proofs of concept point these symlinks at /proc/sys/kernel/core_pattern, whose
# value is global: a vulnerable runtime then writes the container's output into the host's
# core_pattern (runc 1.1.5 does). The tests aim at the same kind of file that a container must
# not get writable, but one its UTS namespace makes harmless to hit: kernel.hostname.
SYSCTL = "/proc/sys/kernel/hostname"


def read_host(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


@pytest.mark.parametrize("dev", ["rootfs-dir", "bind"])
@pytest.mark.parametrize("null_to", ["/etc/attacker", SYSCTL])
def test_cve_2025_31133_dev_null_symlink(run_rt, bundle, tmp_path, dev, null_to):
    """CVE-2025-31133: /dev is not a fresh tmpfs (the image's own /dev, or a bind mount) and
    its null is a symlink. Masking binds /dev/null over each masked path: it must not bind what
    the symlink names (a sysctl such as core_pattern, made writable at a masked path, is a host
    escape). The runtime refuses, or every masked file is the null device."""
    sysctl_before = read_host(SYSCTL)
    script = ("/probe stat /etc/masked; /probe cat /etc/masked; /probe stat /proc/keys; "
              f"/probe open-write {SYSCTL}")
    b = bundle(args=["/bin/sh", "-c", script], masked=["/etc/masked", "/proc/keys"],
               modify=lambda cfg: drop_mount(cfg, "/dev"))
    (b.rootfs / "etc/attacker").write_text("attacker\n")
    (b.rootfs / "etc/masked").write_text("secret\n")
    devdir = b.rootfs / "dev"
    if dev == "bind":
        devdir = tmp_path / "image-dev"
        devdir.mkdir()
        b.config["mounts"].append({"destination": "/dev", "type": "bind",
                                   "source": str(devdir), "options": ["rbind"]})
        b.write_config()
    (devdir / "null").symlink_to(null_to)
    res = run_rt("run", "--bundle", b.path, new_id())
    assert read_host(SYSCTL) == sysctl_before, "the host's hostname changed"
    assert (b.rootfs / "etc/attacker").read_text() == "attacker\n"
    assert os.readlink(devdir / "null") == null_to, "the runtime replaced the image's /dev/null"
    if res.returncode != 0 and not res.stdout:
        return  # refused
    lines = res.stdout.splitlines()
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert lines == ["char 1:3 0666 0:0", "char 1:3 0666 0:0", "EROFS"], (
        f"a masked path is not the null device, or the sysctl is writable: {res.stdout!r}")


def _console_server():
    from test_oci import ConsoleServer  # the console-socket peer used by the OCI tests
    return ConsoleServer


@pytest.mark.parametrize("devpts", [True, False], ids=["devpts", "no-devpts"])
def test_cve_2025_52565_dev_pts_symlink(run_rt, bundle, devpts):
    """CVE-2025-52565: with a terminal, the runtime sets up the pty and /dev/console from
    names under /dev and /dev/pts; the image makes them symlinks (/dev/console to a sysctl,
    /dev/ptmx and /dev/pts/0 to files of its choosing). The runtime refuses, or the process's
    stdio is a real pts slave and nothing was bound over the sysctl or /dev/console."""
    sysctl_before = read_host(SYSCTL)
    script = (f"/probe fdstat 0; /probe open-write {SYSCTL}; /probe mounts; "
              "echo END; sleep 1")

    def modify(cfg):
        drop = {"/dev"} if devpts else {"/dev", "/dev/pts"}
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] not in drop]

    b = bundle(args=["/bin/sh", "-c", script], terminal=True, modify=modify)
    (b.rootfs / "etc/attacker").write_text("attacker\n")
    (b.rootfs / "dev/console").symlink_to(SYSCTL)
    (b.rootfs / "dev/ptmx").symlink_to("pts/ptmx")
    if not devpts:
        (b.rootfs / "dev/pts").mkdir()
        (b.rootfs / "dev/pts/ptmx").symlink_to("/etc/attacker")
        (b.rootfs / "dev/pts/0").symlink_to(SYSCTL)
    server = _console_server()(b.tmp / "console.sock")
    try:
        cid = new_id()
        res = run_rt("create", "--console-socket", server.path, "--bundle", b.path, cid)
        if res.returncode != 0:
            out = None  # refused
        else:
            assert run_rt("start", cid).returncode == 0
            out = server.read_until("END")
    finally:
        server.close()
    assert read_host(SYSCTL) == sysctl_before, "the host's hostname changed"
    assert (b.rootfs / "etc/attacker").read_text() == "attacker\n"
    if out is None:
        return
    lines = [ln.strip() for ln in out.splitlines()]
    assert "END" in lines, out
    tty = lines[0].split()
    assert tty[0] == "char" and 136 <= int(tty[1].split(":")[0]) <= 143, (
        f"stdin is not a pts slave: {lines[0]}")
    assert lines[1] == "EROFS", f"{SYSCTL} is writable: {lines[1]}"
    points = [ln.split()[4] for ln in lines[2:] if len(ln.split()) > 4]
    assert SYSCTL not in points and "/dev/console" not in points, points


# ---------------------------------------------------------------------------------------------
# CVE-2026-41579: /dev as a symlink
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dev_mount", ["tmpfs", "none"])
@pytest.mark.parametrize("link", ["absolute", "relative"])
def test_cve_2026_41579_dev_symlink(run_rt, bundle, tmp_path, link, dev_mount):
    """CVE-2026-41579: the image's /dev is a symlink out of the rootfs ("/../../host-dir" or
    "../../host-dir"). The /dev mount, the device nodes and the /dev symlinks must be made
    inside the rootfs (or refused): never in the host directory."""
    host = HostTarget(tmp_path / "host-dev")
    target = ("/" if link == "absolute" else "") + dotdots() + str(host.path)
    modify = None if dev_mount == "tmpfs" else (lambda cfg: drop_mount(cfg, "/dev"))
    b = bundle(args=["/probe", "stat", "/dev/null"], modify=modify)
    (b.rootfs / "dev").rmdir()
    (b.rootfs / "dev").symlink_to(target)
    res = run_rt("run", "--bundle", b.path, new_id())
    host.assert_untouched(f"/dev -> {target}")
    if res.returncode != 0 and not res.stdout:
        return  # refused
    assert res.returncode == 0 and res.stdout.startswith("char 1:3"), (res.stdout, res.stderr)


# ---------------------------------------------------------------------------------------------
# CVE-2024-45310: mkdir of mount targets through symlinks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tmpfs-dir", "bind-file"])
@pytest.mark.parametrize("link", ["absolute", "absolute-dotdot", "relative"])
def test_cve_2024_45310_mkdir_through_symlink(run_rt, bundle, tmp_path, link, kind):
    """CVE-2024-45310: a mount destination whose parent is a symlink out of the rootfs. The
    runtime creates missing mount targets (directories, or a file for a file bind): it must
    create them inside the rootfs, never in the host directory the symlink names."""
    host = HostTarget(tmp_path / "host-dir")
    target = {"absolute": str(host.path), "absolute-dotdot": "/" + dotdots() + str(host.path),
              "relative": dotdots() + str(host.path)}[link]
    if kind == "tmpfs-dir":
        mount = {"destination": "/mnt/escape/sub/dir", "type": "tmpfs", "source": "tmpfs"}
    else:
        src = tmp_path / "file-src"
        src.write_text("file\n")
        mount = {"destination": "/mnt/escape/sub/file", "type": "bind", "source": str(src),
                 "options": ["bind"]}
    b = bundle(args=["/probe", "stat", mount["destination"]], extra_mounts=[mount])
    (b.rootfs / "mnt/escape").symlink_to(target)
    res = run_rt("run", "--bundle", b.path, new_id())
    host.assert_untouched(f"{mount['destination']} with /mnt/escape -> {target}")
    if res.returncode != 0 and not res.stdout:
        return  # refused
    want = "dir" if kind == "tmpfs-dir" else "file"
    assert res.returncode == 0 and res.stdout.startswith(want), (res.stdout, res.stderr)


# ---------------------------------------------------------------------------------------------
# CVE-2023-25809: a writable host cgroup tree without a cgroup namespace
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ro", [True, False], ids=["ro", "rw-asked"])
def test_cve_2023_25809_host_cgroup_tree_read_only(run_rt, bundle, ro):
    """CVE-2023-25809: without a cgroup namespace, /sys/fs/cgroup in the container is the
    host's cgroup tree. It must be read-only, even when the mount does not ask for "ro":
    moving a process (cgroup.procs) or creating a cgroup must fail."""
    def modify(cfg):
        for m in cfg["mounts"]:
            if m["destination"] == "/sys/fs/cgroup" and not ro:
                m["options"] = [o for o in m["options"] if o != "ro"]
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != "cgroup"]

    b = bundle(modify=modify)
    own = f"{CGROUP_PARENT}/{b.cgroup}"
    script = (
        "for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs; do "
        "[ -e $f ] && echo $f $(/probe open-write $f); done; "
        f"for d in /sys/fs/cgroup/{own} /sys/fs/cgroup/*/{own}; do "
        "[ -d $d ] && echo $d $(/probe mkdir $d/escape 2>/dev/null); done; true")
    b.config["process"]["args"] = ["/bin/sh", "-c", script]
    b.write_config()
    res = run_rt("run", "--bundle", b.path, new_id())
    leaked = [d / "escape" for d in b.cgroup_dirs() if (d / "escape").is_dir()]
    for d in leaked:
        os.rmdir(d)
    assert res.returncode == 0, (res.stdout, res.stderr)
    lines = res.stdout.splitlines()
    assert any("cgroup.procs" in ln for ln in lines), f"no cgroup tree seen: {res.stdout}"
    assert not leaked, f"the container created host cgroups: {leaked}"
    writable = [ln for ln in lines if ln.endswith(" OK")]
    assert not writable, f"host cgroup files writable from the container: {writable}"


# ---------------------------------------------------------------------------------------------
# What the default capability set (and, once it exists, the default seccomp profile) forbids
# ---------------------------------------------------------------------------------------------

SECCOMP_REASON = "needs the default seccomp profile (issue 3)"


@pytest.fixture
def default_seccomp(run_rt, tmp_path):
    """linux.seccomp of `vessel-runc spec` (the default profile), or None while it has none."""
    d = tmp_path / "spec"
    d.mkdir()
    res = run_rt("spec", cwd=d)
    assert res.returncode == 0, res.stderr
    return json.loads((d / "config.json").read_text()).get("linux", {}).get("seccomp")


def confined_probe(run_rt, bundle, seccomp, probe, caps=DOCKER_CAPS):
    """Runs `/probe @probe` as root with @caps (Docker's default set), noNewPrivileges false
    as Docker has it, and the default seccomp profile when there is one; returns its output."""
    def modify(cfg):
        if seccomp:
            cfg["linux"]["seccomp"] = seccomp

    b = bundle(args=["/probe", probe], capabilities=caps_config(caps), no_new_privs=False,
               modify=modify)
    res = run_rt("run", "--bundle", b.path, new_id())
    assert res.returncode == 0, (res.stdout, res.stderr)
    return res.stdout.strip()


@pytest.mark.parametrize("probe,what", [
    ("mount-proc", "mount(2) needs CAP_SYS_ADMIN"),
    ("init-module", "finit_module(2) needs CAP_SYS_MODULE"),
    ("kexec", "kexec_file_load(2) needs CAP_SYS_BOOT"),
])
def test_default_caps_forbid(run_rt, bundle, probe_binary, default_seccomp, probe, what):
    """Docker's 14 capabilities (the engine's default set, issue 3) leave out what mounting,
    loading a kernel module or kexec need: the container gets EPERM (the CVE class: any
    escape through a new mount, a malicious module, or a new kernel)."""
    if probe in ("init-module", "kexec"):
        # Harmless on the host: both are called with invalid fds (EBADF where supported).
        host = subprocess.run([str(probe_binary), probe], capture_output=True, text=True)
        if host.stdout.strip() == "ENOSYS":
            name = {"init-module": "finit_module", "kexec": "kexec_file_load"}[probe]
            pytest.skip(f"the kernel has no {name}(2) (ENOSYS on the host)")
    assert confined_probe(run_rt, bundle, default_seccomp, probe) == "EPERM", what


@pytest.mark.parametrize("net_raw", [True, False], ids=["with-CAP_NET_RAW", "without"])
def test_raw_socket_needs_cap_net_raw(run_rt, bundle, default_seccomp, net_raw):
    """A raw socket (ICMP spoofing, CVE-2020-14386's AF_PACKET class) needs CAP_NET_RAW: with
    it in the set the socket opens, without it the container gets EPERM."""
    caps = DOCKER_CAPS if net_raw else [c for c in DOCKER_CAPS if c != "CAP_NET_RAW"]
    got = confined_probe(run_rt, bundle, default_seccomp, "rawsock", caps=caps)
    assert got == ("OK" if net_raw else "EPERM")


def test_default_profile_forbids_keyctl(run_rt, bundle, default_seccomp):
    """keyctl(2) needs no capability, so only the default seccomp profile keeps a container
    away from the kernel keyrings (CVE-2016-0728: a keyring refcount overflow to root)."""
    got = confined_probe(run_rt, bundle, default_seccomp, "keyctl")
    if default_seccomp is None and got not in ("EPERM", "ENOSYS"):
        pytest.xfail(SECCOMP_REASON)
    assert got in ("EPERM", "ENOSYS"), f"keyctl(2) allowed: {got}"
