"""podman as a real client of the runtime: `podman --runtime <vessel-runc> run/exec/stop/rm`.

podman drives the runtime through conmon (create --console-socket, start, state, kill, delete,
exec --process --detach). Every podman call is isolated from the host's podman: its own
--root/--runroot/--tmpdir under a fresh /tmp directory, the vfs storage driver (no overlay
mounts), cgroupfs with containers under /vessel-test/podman-<unique>, the file events backend.

The runtime keeps its own state in its default --root: podman's exit command (`podman container
cleanup`, run by conmon) does not pass --runtime-flag on, so a custom runtime root would split
a container's record across two roots.

With `--log-level debug` (podman then also passes --syslog to conmon and its exit command) every
foreground `run` here takes 20 s more: podman logs "Exceeded conmon timeout waiting for container
... to exit". runc does the same, so it is not the runtime's doing (this machine has no /dev/log;
not pinned down further). Debug with the runtime's own argv instead (a wrapper script as --runtime).
"""

import os
import pty
import select
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid

import pytest

from conftest import CGROUP_PARENT, CGROUP_ROOT, _mounts_under, _rmdir_tree, _run

PODMAN = shutil.which("podman")
CONMON = shutil.which("conmon") or ("/usr/libexec/podman/conmon"
                                    if os.access("/usr/libexec/podman/conmon", os.X_OK) else None)

pytestmark = [
    pytest.mark.skipif(PODMAN is None, reason="podman is not installed"),
    pytest.mark.skipif(CONMON is None, reason="conmon is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="podman tests need root"),
]

IMAGE = "localhost/vessel-busybox:test"
TRAP_TERM = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


class Podman:
    """podman with private storage and the runtime under test."""

    def __init__(self, runtime, tmp, cgroup_leaf):
        self.tmp = tmp
        self.cgroup_leaf = cgroup_leaf
        self.cgroup_parent = f"/{CGROUP_PARENT}/{cgroup_leaf}"
        self.base = [
            PODMAN, "--root", f"{tmp}/storage", "--runroot", f"{tmp}/runroot",
            "--tmpdir", f"{tmp}/tmp", "--storage-driver", "vfs",
            "--cgroup-manager", "cgroupfs", "--events-backend", "file",
            "--runtime", runtime,
        ]
        if CONMON:
            self.base += ["--conmon", CONMON]

    def argv(self, *args):
        return [*self.base, *[str(a) for a in args]]

    def __call__(self, *args, input=None, timeout=60):
        """Runs podman; returns a CompletedProcess (text), never raises on a non-zero exit."""
        return _run(self.argv(*args), input=input, timeout=timeout)

    def run_args(self, *opts):
        """`run` with the options every container here needs, then @opts."""
        return ["run", "--network", "none", "--cgroup-parent", self.cgroup_parent,
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", *opts]

    def run(self, *args, input=None, timeout=60):
        return self(*self.run_args(), *args, input=input, timeout=timeout)


def ok(res):
    assert res.returncode == 0, (
        f"{' '.join(res.args)}\nexit {res.returncode}\nstdout: {res.stdout}\nstderr: {res.stderr}")
    return res


def _umount_under(path):
    for mnt in sorted(_mounts_under(path), key=lambda m: -m.count("/")):
        subprocess.run(["umount", "-l", mnt], capture_output=True)


@pytest.fixture(scope="session")
def podman(vessel, base_rootfs, tmp_path_factory):
    """A Podman whose private storage holds IMAGE (the conftest busybox rootfs, /probe
    included), imported from a tar once per session. Teardown removes every container,
    the storage and the cgroups."""
    tmp = tempfile.mkdtemp(prefix="vessel-podman-", dir="/tmp")
    pm = Podman(vessel, tmp, f"podman-{uuid.uuid4().hex[:12]}")
    try:
        tar = tmp_path_factory.mktemp("podman-image") / "rootfs.tar"
        with tarfile.open(tar, "w") as t:
            t.add(base_rootfs, arcname=".")
        ok(pm("import", tar, IMAGE, timeout=120))
        yield pm
    finally:
        pm("rm", "-af", "-t0", timeout=120)
        _umount_under(tmp)
        if not _mounts_under(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        for base in [CGROUP_ROOT, *CGROUP_ROOT.glob("*")]:
            d = base / CGROUP_PARENT / pm.cgroup_leaf
            if d.is_dir():
                _rmdir_tree(str(d))


def detached(podman, *args):
    """`run -d IMAGE args...`; returns the full container id."""
    cid = ok(podman.run("-d", IMAGE, *args)).stdout.strip()
    assert len(cid) == 64, cid
    return cid


def ps_ids(podman, *opts):
    return ok(podman("ps", "-q", "--no-trunc", *opts)).stdout.split()


def inspect(podman, cid, fmt):
    return ok(podman("inspect", "--format", fmt, cid)).stdout.strip()


def _read_available(fd, wait):
    """Bytes readable from @fd within @wait seconds; b"" at EOF/EIO (slave side closed)."""
    r, _, _ = select.select([fd], [], [], wait)
    if not r:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: every slave fd is closed
        return b""


def run_tty(argv, timeout=60, reply=None):
    """Runs @argv with a new pty as its controlling terminal and stdio; returns
    (output text, exit code). reply=(prompt, keys) types @keys once @prompt (bytes) was
    printed. The child is killed if it outlives @timeout."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    out = b""
    status = None
    deadline = time.monotonic() + timeout
    try:
        while status is None and time.monotonic() < deadline:
            data = _read_available(fd, 0.2)
            if data:
                out += data
                if reply and reply[0] in out:
                    os.write(fd, reply[1])
                    reply = None
                continue
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(st)
            elif data == b"":
                time.sleep(0.05)  # slave closed, child not gone yet
        while status is not None and (data := _read_available(fd, 0)):
            out += data
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    if status is None:
        pytest.fail(f"{argv} did not finish in {timeout}s; output: {out!r}")
    return out.decode(errors="replace"), status


# ---------------------------------------------------------------------------------------------
# run (foreground)
# ---------------------------------------------------------------------------------------------


def test_run_echo(podman):
    res = ok(podman.run("--rm", IMAGE, "echo", "hello from vessel"))
    assert res.stdout == "hello from vessel\n"


@pytest.mark.parametrize("code", [3, 42])
def test_run_exit_status_propagates(podman, code):
    res = podman.run("--rm", IMAGE, "sh", "-c", f"exit {code}")
    assert res.returncode == code, res.stderr


def test_run_stdin(podman):
    res = ok(podman.run("--rm", "-i", IMAGE, "cat", input="through conmon\n"))
    assert res.stdout == "through conmon\n"


def test_run_rm_leaves_nothing(podman):
    name = "vt-rm-" + uuid.uuid4().hex[:8]
    ok(podman.run("--rm", "--name", name, IMAGE, "true"))
    assert podman("container", "exists", name).returncode == 1


def test_run_missing_binary(podman):
    res = podman.run("--rm", IMAGE, "/no/such/binary")
    assert res.returncode == 127, res  # podman's "command not found" code
    assert "/no/such/binary" in res.stderr


def test_run_missing_binary_cleans_up_quietly(podman):
    """After a failed create podman runs `delete --force`; it must succeed (as runc's does)
    rather than print "Removing container ... from runtime after creation failed"."""
    res = podman.run("--rm", IMAGE, "/no/such/binary")
    assert res.returncode == 127, res
    assert "after creation failed" not in res.stderr, res.stderr


def test_runtime_delete_force_unknown_id(vessel, runtime_root):
    """What podman relies on: `delete --force` of an unknown id succeeds (runc's behaviour);
    without --force it still fails."""
    cid = f"vt-{uuid.uuid4().hex[:12]}"
    res = _run([vessel, "--root", runtime_root, "delete", "--force", cid])
    assert res.returncode == 0, res.stderr
    assert _run([vessel, "--root", runtime_root, "delete", cid]).returncode != 0
    os.makedirs(os.path.join(runtime_root, cid))  # left by an aborted create
    assert _run([vessel, "--root", runtime_root, "delete", "--force", cid]).returncode == 0
    assert not os.path.exists(os.path.join(runtime_root, cid))


def test_run_in_cgroup_parent(podman):
    """The container's cgroup is libpod-<id> under --cgroup-parent (under /vessel-test)."""
    res = ok(podman.run("--rm", IMAGE, "cat", "/proc/self/cgroup"))
    lines = [line for line in res.stdout.splitlines() if line]
    assert lines, res.stdout
    # With cgroup namespaces the path may read "/"; otherwise it names the parent.
    for line in lines:
        path = line.split(":", 2)[2]
        assert path == "/" or path.startswith(podman.cgroup_parent + "/libpod-"), line


# ---------------------------------------------------------------------------------------------
# run -d, ps, exec, stop, rm
# ---------------------------------------------------------------------------------------------


def test_detached_lifecycle(podman, vessel):
    cid = detached(podman, "sh", "-c", TRAP_TERM)
    assert cid in ps_ids(podman)
    assert inspect(podman, cid, "{{.State.Status}}") == "running"
    assert any(
        (base / CGROUP_PARENT / podman.cgroup_leaf / f"libpod-{cid}").is_dir()
        for base in [CGROUP_ROOT, *CGROUP_ROOT.glob("*")])

    assert ok(podman("exec", cid, "echo", "hi")).stdout == "hi\n"
    assert podman("exec", cid, "sh", "-c", "exit 5").returncode == 5

    ok(podman("stop", "-t", "2", cid))
    assert cid not in ps_ids(podman)
    assert cid in ps_ids(podman, "-a")
    assert inspect(podman, cid, "{{.State.Status}}") == "exited"
    # The trap ran on TERM; a KILL after the 2 s timeout would read 137.
    assert inspect(podman, cid, "{{.State.ExitCode}}") == "0"

    ok(podman("rm", cid))
    assert cid not in ps_ids(podman, "-a")
    assert _run([vessel, "state", cid]).returncode != 0
    assert not any((base / CGROUP_PARENT / podman.cgroup_leaf / f"libpod-{cid}").exists()
                   for base in [CGROUP_ROOT, *CGROUP_ROOT.glob("*")])


def test_stop_kills_after_timeout(podman):
    """PID 1 ignores an unhandled TERM: stop falls back to KILL after -t."""
    cid = detached(podman, "sleep", "100")
    start = time.monotonic()
    ok(podman("stop", "-t", "1", cid))
    assert time.monotonic() - start >= 1
    assert inspect(podman, cid, "{{.State.ExitCode}}") == "137"
    ok(podman("rm", cid))


def test_wait_and_logs(podman):
    cid = detached(podman, "sh", "-c", "echo to the log; exit 7")
    assert ok(podman("wait", cid)).stdout.strip() == "7"
    assert ok(podman("logs", cid)).stdout == "to the log\n"
    ok(podman("rm", cid))


def test_run_detached_rm_cleans_up(podman):
    """conmon's exit command (`podman container cleanup --rm`) deletes it from the runtime."""
    cid = ok(podman.run("-d", "--rm", IMAGE, "true")).stdout.strip()
    deadline = time.monotonic() + 20
    while cid in ps_ids(podman, "-a") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cid not in ps_ids(podman, "-a")


def test_rm_force_running(podman):
    cid = detached(podman, "sleep", "100")
    ok(podman("rm", "-f", "-t", "0", cid))
    assert cid not in ps_ids(podman, "-a")


def test_exec_missing_binary(podman):
    cid = detached(podman, "sleep", "100")
    try:
        res = podman("exec", cid, "/no/such/binary")
        assert res.returncode == 127, res
        assert "/no/such/binary" in res.stderr
    finally:
        ok(podman("rm", "-f", "-t", "0", cid))


# ---------------------------------------------------------------------------------------------
# terminals
# ---------------------------------------------------------------------------------------------


def test_run_tty(podman):
    argv = podman.argv(*podman.run_args("--rm", "-it", IMAGE, "sh", "-c",
                                         "tty; /probe isatty; echo done"))
    out, status = run_tty(argv)
    assert status == 0, out
    lines = out.replace("\r", "").splitlines()
    assert any(line.startswith("/dev/pts/") for line in lines), out
    assert "yes yes" in lines, out
    assert "done" in lines, out


def test_run_tty_input(podman):
    """Keys typed on the terminal reach the container through conmon's console."""
    argv = podman.argv(*podman.run_args("--rm", "-it", IMAGE, "sh", "-c",
                                         "echo ready; read x; echo got-$x"))
    out, status = run_tty(argv, reply=(b"ready", b"abc\r"))
    assert status == 0, out
    assert "got-abc" in out.replace("\r", "").splitlines(), out


def test_run_tty_exit_status(podman):
    argv = podman.argv(*podman.run_args("--rm", "-it", IMAGE, "sh", "-c", "exit 9"))
    _out, status = run_tty(argv)
    assert status == 9


def test_exec_tty(podman):
    cid = detached(podman, "sleep", "100")
    try:
        out, status = run_tty(podman.argv("exec", "-it", cid, "sh", "-c",
                                          "tty; /probe isatty; echo done; exit 4"))
        assert status == 4, out
        lines = out.replace("\r", "").splitlines()
        assert any(line.startswith("/dev/pts/") for line in lines), out
        assert "yes yes" in lines, out
        assert "done" in lines, out
    finally:
        ok(podman("rm", "-f", "-t", "0", cid))
