"""Fixtures for Vessel's integration tests: the runtime binary, a private --root, OCI bundles.

The tests run the real runtime binary as root. By default that is $VESSEL_BUILD/vessel-runc
($VESSEL_BUILD defaults to <repo>/build); VESSEL_RUNTIME=/usr/sbin/runc (or crun) runs the
same suite against a peer runtime, which is how the tests themselves are checked.

Markers:
  vessel_only       the test checks Vessel-specific behaviour (message wording): skipped
                    when VESSEL_RUNTIME names another runtime.
  xfail_runc(why)   known not to work under runc: expected to fail only when the runtime is runc.
"""

import copy
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("VESSEL_BUILD") or REPO / "build").resolve()
RUNTIME_OVERRIDE = os.environ.get("VESSEL_RUNTIME")
RUNTIME = Path(RUNTIME_OVERRIDE) if RUNTIME_OVERRIDE else BUILD / "vessel-runc"
RUNTIME_NAME = RUNTIME.name
IS_VESSEL = "vessel" in RUNTIME_NAME
IS_RUNC = RUNTIME_NAME.startswith("runc")

BUSYBOX = Path("/bin/busybox")
PROBE_SRC = REPO / "tests" / "probe" / "probe.c"
CGROUP_PARENT = "vessel-test"
CGROUP_ROOT = Path("/sys/fs/cgroup")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

USER_ID = 1000
GROUP_ID = 1000


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "vessel_only: checks Vessel-specific behaviour; skipped under other runtimes"
    )
    config.addinivalue_line(
        "markers", "xfail_runc(reason): expected to fail only when the runtime is runc"
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("vessel_only") and not IS_VESSEL:
            item.add_marker(pytest.mark.skip(reason=f"Vessel-specific; runtime is {RUNTIME_NAME}"))
        mark = item.get_closest_marker("xfail_runc")
        if mark and IS_RUNC:
            reason = mark.args[0] if mark.args else "not supported by runc"
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))


def new_id(prefix="vt"):
    """A container id unique to this test run."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------------------------
# The runtime binary and its --root
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def vessel():
    """Path of the runtime under test (a str)."""
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (run them with sudo / as root)")
    if not os.access(RUNTIME, os.X_OK):
        pytest.fail(f"runtime {RUNTIME} is missing or not executable (run `make`)", pytrace=False)
    return str(RUNTIME)


def _mounts_under(path):
    """Mount points at or below @path, from /proc/self/mountinfo."""
    prefix = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            mnt = line.split()[4].replace("\\040", " ")
            if mnt == prefix or mnt.startswith(prefix + "/"):
                found.append(mnt)
    return found


def _safe_rmtree(path):
    """rm -rf @path unless something is mounted below it (never delete through a mount)."""
    if not os.path.exists(path):
        return
    mounts = _mounts_under(path)
    if mounts:
        print(f"conftest: not removing {path}: mounts below it: {mounts}")
        return
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def runtime_root(vessel):
    """A fresh, empty directory used as the runtime's --root; containers left in it are
    force-deleted at teardown."""
    root = tempfile.mkdtemp(prefix="vessel-root-", dir="/tmp")
    yield root
    ids = set()
    try:
        out = subprocess.run(
            [vessel, "--root", root, "list", "-q"],
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        )
        ids.update(line.strip() for line in out.stdout.splitlines() if line.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    if os.path.isdir(root):
        ids.update(e for e in os.listdir(root) if os.path.isdir(os.path.join(root, e)))
    for cid in sorted(ids):
        try:
            subprocess.run(
                [vessel, "--root", root, "delete", "--force", cid],
                capture_output=True, timeout=30, stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError):
            pass
    _safe_rmtree(root)


def _run(cmd, input=None, timeout=30, cwd=None, env=None):
    """subprocess.run with stdout/stderr in files, not pipes: a detached container keeps its
    runtime's stdio open, and a pipe would then never reach EOF."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as inp:
        if input is not None:
            inp.write(input.encode() if isinstance(input, str) else input)
            inp.seek(0)
        stdin = inp if input is not None else subprocess.DEVNULL
        proc = subprocess.run(
            cmd, stdin=stdin, stdout=out, stderr=err, timeout=timeout, cwd=cwd, env=env,
        )
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            cmd, proc.returncode,
            out.read().decode(errors="replace"), err.read().decode(errors="replace"),
        )


@pytest.fixture
def run_rt(vessel, runtime_root):
    """run_rt(*args, input=None, timeout=30, cwd=None, env=None, globals=()) runs
    `<runtime> --root <runtime_root> [globals...] args...` and returns a CompletedProcess
    with text stdout/stderr. It never raises on a non-zero exit."""

    def run_rt(*args, input=None, timeout=30, cwd=None, env=None, globals=()):
        cmd = [vessel, "--root", runtime_root, *globals, *[str(a) for a in args]]
        return _run(cmd, input=input, timeout=timeout, cwd=cwd, env=env)

    return run_rt


# ---------------------------------------------------------------------------------------------
# Bundles
# ---------------------------------------------------------------------------------------------


def _build_probe(dest):
    cmd = ["gcc", "-std=gnu17", "-O2", "-Wall", "-Wextra", "-static", "-o", str(dest),
           str(PROBE_SRC)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"building the probe failed: {res.stderr}", pytrace=False)


@pytest.fixture(scope="session")
def probe_binary(tmp_path_factory):
    """$VESSEL_BUILD/probe, or (when testing a peer runtime with no build) one built here."""
    built = BUILD / "probe"
    if built.is_file():
        return built
    if IS_VESSEL:
        pytest.fail(f"{built} is missing (run `make`)", pytrace=False)
    dest = tmp_path_factory.mktemp("probe") / "probe"
    _build_probe(dest)
    return dest


def _busybox_applets():
    res = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True)
    return [a for a in res.stdout.split() if a and a != "busybox" and "/" not in a]


PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
GROUP = "root:x:0:\ntty:x:5:\nusers:x:100:\napp:x:1000:\n"


@pytest.fixture(scope="session")
def base_rootfs(tmp_path_factory, probe_binary):
    """The rootfs every bundle copies: busybox-static with its applets, the probe at /probe,
    /etc/passwd and /etc/group with root and app (1000:1000)."""
    if not BUSYBOX.is_file():
        pytest.skip("/bin/busybox missing (apt-get install busybox-static)")
    rootfs = tmp_path_factory.mktemp("base") / "rootfs"
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc", "mnt", "root", "home/app", "srv"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    os.chmod(rootfs / "tmp", 0o1777)
    os.chown(rootfs / "home/app", USER_ID, GROUP_ID)
    shutil.copy2(BUSYBOX, rootfs / "bin/busybox")
    for applet in _busybox_applets():
        link = rootfs / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    shutil.copy2(probe_binary, rootfs / "probe")
    os.chmod(rootfs / "probe", 0o755)
    (rootfs / "etc/passwd").write_text(PASSWD)
    (rootfs / "etc/group").write_text(GROUP)
    (rootfs / "etc/hostname").write_text("base\n")
    return rootfs


def _copy_rootfs(src, dst):
    """Copy the base rootfs; the two large binaries are hard links (nothing writes them)."""

    def copy(s, d):
        if os.path.basename(s) in ("busybox", "probe"):
            os.link(s, d)
        else:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, symlinks=True, copy_function=copy)


def default_config(args, cgroup):
    """A runc-like default config.json (the shape of `runc spec`), terminal false,
    root writable, cgroupsPath under /vessel-test."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": [PATH_ENV, "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": list(caps),
                "effective": list(caps),
                "permitted": list(caps),
                "ambient": list(caps),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "vessel",
        "mounts": default_mounts(),
        "linux": {
            "cgroupsPath": f"/{CGROUP_PARENT}/{cgroup}",
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
            ],
        },
    }


def default_mounts():
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]


@dataclass
class Bundle:
    path: Path
    rootfs: Path
    config: dict
    cgroup: str  # the leaf name under /vessel-test
    tmp: Path  # a scratch directory outside the bundle, for hook output, bind sources...
    extra: dict = field(default_factory=dict)

    def write_config(self):
        (self.path / "config.json").write_text(json.dumps(self.config, indent=2))

    def write_raw(self, text):
        """Replace config.json by raw text (for malformed-input tests)."""
        (self.path / "config.json").write_text(text)

    def cgroup_dirs(self):
        """Existing cgroup directories for this bundle's cgroupsPath, v1 and v2."""
        found = []
        for base in [CGROUP_ROOT, *CGROUP_ROOT.glob("*")]:
            d = base / CGROUP_PARENT / self.cgroup
            if d.is_dir():
                found.append(d)
        return found


@pytest.fixture
def bundle(tmp_path, base_rootfs):
    """bundle(args=[...], env=, cwd=, user=, mounts=, extra_mounts=, namespaces=, hooks=,
    hostname=, terminal=, readonly=, capabilities=, rlimits=, no_new_privs=, masked=,
    readonly_paths=, modify=callable(config_dict)) -> Bundle, with config.json written.
    mounts= replaces the default mounts; extra_mounts= appends to them."""
    counter = iter(range(1_000_000))

    def make(args=("/probe", "true"), modify=None, **kw):
        n = next(counter)
        path = tmp_path / f"bundle{n}"
        path.mkdir()
        scratch = tmp_path / f"scratch{n}"
        scratch.mkdir()
        rootfs = path / "rootfs"
        _copy_rootfs(base_rootfs, rootfs)
        cgroup = uuid.uuid4().hex[:16]
        cfg = default_config(args, cgroup)
        _apply_kwargs(cfg, kw)
        b = Bundle(path=path, rootfs=rootfs, config=cfg, cgroup=cgroup, tmp=scratch)
        if modify:
            modify(b.config)
        b.write_config()
        return b

    return make


_PROCESS_KEYS = {
    "env": "env", "cwd": "cwd", "user": "user", "terminal": "terminal",
    "capabilities": "capabilities", "rlimits": "rlimits", "no_new_privs": "noNewPrivileges",
}
_LINUX_KEYS = {"namespaces": "namespaces", "masked": "maskedPaths",
               "readonly_paths": "readonlyPaths", "resources": "resources"}


def _apply_kwargs(cfg, kw):
    for key, value in kw.items():
        if key in _PROCESS_KEYS:
            cfg["process"][_PROCESS_KEYS[key]] = copy.deepcopy(value)
        elif key in _LINUX_KEYS:
            cfg["linux"][_LINUX_KEYS[key]] = copy.deepcopy(value)
        elif key == "mounts":
            cfg["mounts"] = copy.deepcopy(value)
        elif key == "extra_mounts":
            cfg["mounts"].extend(copy.deepcopy(value))
        elif key == "hooks":
            cfg["hooks"] = copy.deepcopy(value)
        elif key == "hostname":
            cfg["hostname"] = value
        elif key == "readonly":
            cfg["root"]["readonly"] = value
        else:
            raise TypeError(f"bundle(): unknown keyword {key!r}")
    if "namespaces" in kw and isinstance(kw["namespaces"], list):
        cfg["linux"]["namespaces"] = [
            n if isinstance(n, dict) else {"type": n} for n in kw["namespaces"]
        ]


# ---------------------------------------------------------------------------------------------
# Helpers for tests
# ---------------------------------------------------------------------------------------------


def wait_status(run_rt, cid, want, timeout=10.0):
    """Poll `state` until status is @want; returns the last state dict (or None)."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        res = run_rt("state", cid)
        if res.returncode == 0:
            st = json.loads(res.stdout)
            if st.get("status") == want:
                return st
        time.sleep(0.05)
    return st


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); count it as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _rmdir_tree(path):
    """rmdir every directory below @path bottom-up, then @path; only empty cgroups go."""
    for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


@pytest.fixture(scope="session", autouse=True)
def _cgroup_cleanup():
    """At session end, remove the now-empty vessel-test cgroup directories (rmdir only)."""
    yield
    for base in [CGROUP_ROOT, *CGROUP_ROOT.glob("*")]:
        d = base / CGROUP_PARENT
        if d.is_dir():
            _rmdir_tree(str(d))
