"""`vessel run`: the Docker-like engine on the embedded busybox image (no registry)."""

import json
import os
import time
import subprocess

import pytest

from conftest import new_id

BUILD = os.environ.get("VESSEL_BUILD") or os.path.join(os.path.dirname(__file__), "../../build")
VESSEL = os.path.join(BUILD, "vessel")


@pytest.fixture
def vessel_run(tmp_path):
    """vessel_run(*args) runs `vessel --root R --state S run ARGS...` with a store and state of
    the test's own; checks at teardown that nothing was left behind."""
    store, state = tmp_path / "store", tmp_path / "state"

    def run(*args, timeout=60, input=None, command="run"):
        cmd = [VESSEL, "--root", str(store), "--state", str(state), command, *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              input=input)

    yield run
    for c in json.loads(run("-a", "--format", "json", command="ps").stdout or "[]"):
        run("-f", c["id"], command="rm")
    if (store / "containers").exists():
        assert os.listdir(store / "containers") == []
    if (state / "containers").exists():
        assert os.listdir(state / "containers") == []
    mounts = open("/proc/self/mountinfo").read()
    assert str(tmp_path) not in mounts


def test_echo(vessel_run):
    res = vessel_run("busybox", "echo", "hi")
    assert (res.returncode, res.stdout) == (0, "hi\n"), res.stderr


@pytest.mark.parametrize("code", [0, 3, 42])
def test_exit_status(vessel_run, code):
    assert vessel_run("busybox", "sh", "-c", f"exit {code}").returncode == code


def test_missing_command_is_127(vessel_run):
    res = vessel_run("busybox", "no-such-command")
    assert res.returncode == 127
    assert "no-such-command" in res.stderr


def test_flags_reach_the_container(vessel_run, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "f").write_text("from the host")
    res = vessel_run("-e", "A=1", "-w", "/tmp", "-u", "nobody", "--hostname", "box",
                     "-v", f"{vol}:/data:ro", "busybox", "sh", "-c",
                     'echo "$A $(pwd) $(id -u) $(hostname) $(cat /data/f)"; touch /data/x')
    assert res.stdout.splitlines()[0] == "1 /tmp 65534 box from the host", res.stderr
    assert res.returncode != 0  # the volume is read-only
    assert not (vol / "x").exists()


def test_limits_in_the_cgroup(vessel_run):
    # the container sees the host's hierarchy read-only; its own cgroup is /vessel/<id>
    res = vessel_run("--cpus", "0.25", "--memory", "64m", "--pids-limit", "30", "busybox",
                     "sh", "-c", "cat /sys/fs/cgroup/memory/vessel/*/memory.limit_in_bytes "
                     "/sys/fs/cgroup/pids/vessel/*/pids.max /sys/fs/cgroup/cpu/vessel/*/cpu.cfs_quota_us")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split()
    assert "67108864" in lines and "30" in lines and "25000" in lines, res.stdout


def test_read_only(vessel_run):
    res = vessel_run("--read-only", "busybox", "touch", "/x")
    assert res.returncode != 0
    assert "Read-only" in res.stderr


def test_timeout_is_124(vessel_run):
    res = vessel_run("--timeout", "1s", "busybox", "sh", "-c",
                     "trap 'exit 0' TERM; while :; do sleep 0.1; done")
    assert res.returncode == 124


def test_stdin_only_with_i(vessel_run):
    assert vessel_run("busybox", "cat", input="x").stdout == ""
    assert vessel_run("-i", "busybox", "cat", input="hello").stdout == "hello"


@pytest.mark.parametrize("args, word", [
    (("--memory", "12q", "busybox", "true"), "--memory"),
    (("--cpus", "-1", "busybox", "true"), "--cpus"),
    (("--timeout", "3x", "busybox", "true"), "--timeout"),
    (("-v", "relative:/x", "busybox", "true"), "-v"),
    (("Not/A:Valid@Ref", "true"), "reference"),
    (("no-such-image", "true"), "not found"),
])
def test_bad_input(vessel_run, args, word):
    res = vessel_run(*args)
    assert res.returncode == 125
    assert word in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def wait_for(pred, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_detached_lifecycle(vessel_run):
    loop = "trap 'echo bye; exit 0' TERM; echo started; while :; do sleep 0.1; done"
    res = vessel_run("-d", "--name", "web", "busybox", "sh", "-c", loop)
    assert res.returncode == 0, res.stderr
    cid = res.stdout.strip()
    assert len(cid) == 64
    ps = lambda: json.loads(vessel_run("-a", "--format", "json", command="ps").stdout)
    assert [c["state"] for c in ps() if c["name"] == "web"] == ["running"]
    assert wait_for(lambda: "started" in vessel_run("web", command="logs").stdout)
    dup = vessel_run("--name", "web", "busybox", "true")
    assert dup.returncode == 125 and "already in use" in dup.stderr
    busy = vessel_run("web", command="rm")
    assert busy.returncode == 125 and "running" in busy.stderr
    assert vessel_run("-t", "5", cid[:12], command="stop").returncode == 0
    assert [(c["state"], c["exit_code"]) for c in ps()] == [("exited", 0)]
    assert vessel_run("web", command="logs").stdout == "started\nbye\n"
    assert vessel_run("--tail", "1", "web", command="logs").stdout == "bye\n"
    assert vessel_run("web", command="rm").returncode == 0
    assert ps() == []


def test_kill_and_rm_force(vessel_run):
    cid = vessel_run("-d", "busybox", "sleep", "60").stdout.strip()
    assert vessel_run("-s", "KILL", cid, command="kill").returncode == 0
    assert wait_for(lambda: json.loads(vessel_run("-a", "--format", "json", command="ps")
                                       .stdout)[0]["exit_code"] == 137)
    cid = vessel_run("-d", "busybox", "sleep", "60").stdout.strip()
    assert vessel_run("-f", cid, command="rm").returncode == 0
    assert vessel_run(cid, command="logs").returncode == 125


def test_run_rm_leaves_nothing(vessel_run):
    assert vessel_run("--rm", "busybox", "true").returncode == 0
    assert json.loads(vessel_run("-a", "--format", "json", command="ps").stdout) == []


def test_exec_and_stats(vessel_run):
    cid = vessel_run("-d", "--name", "s1", "--memory", "64m", "busybox", "sh", "-c",
                     "while :; do :; done").stdout.strip()
    res = vessel_run("s1", "sh", "-c", "echo in $(hostname); exit 6", command="exec")
    assert (res.returncode, res.stdout) == (6, f"in {cid[:12]}\n"), res.stderr
    res = vessel_run("-e", "X=1", "-w", "/tmp", "-u", "65534", "s1", "sh", "-c",
                     "echo $X $(pwd) $(id -u)", command="exec")
    assert res.stdout == "1 /tmp 65534\n", res.stderr
    res = vessel_run("-u", "nobody", "s1", "id", "-u", command="exec")
    assert res.stdout == "65534\n", res.stderr
    res = vessel_run("-u", "ghost", "s1", "true", command="exec")
    assert res.returncode == 125 and "ghost" in res.stderr
    stats = vessel_run("--no-stream", "s1", command="stats").stdout.splitlines()
    assert len(stats) == 2 and "64MiB" in stats[1], stats
    cpu = float(stats[1].split()[2])
    assert 50 < cpu <= 115, stats  # a busy loop: about one CPU (sampling jitter above)
    assert vessel_run("nope", "true", command="exec").returncode == 125


def test_rmi_keeps_layers_of_live_containers(vessel_run, tmp_path):
    cid = vessel_run("-d", "busybox", "sleep", "30").stdout.strip()
    layers = os.listdir(tmp_path / "store" / "layers")
    assert vessel_run("-f", "busybox", command="rmi").returncode == 0
    assert os.listdir(tmp_path / "store" / "layers") == layers
    assert vessel_run(cid, "ls", "/bin/sh", command="exec").returncode == 0


def test_fifty_at_once(vessel_run):
    """50 concurrent `run -d` all start, with 50 distinct names and records."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(
            lambda i: vessel_run("-d", "--name", f"c{i}", "busybox", "sleep", "60",
                                 timeout=120), range(50)))
    failed = [r.stderr for r in results if r.returncode != 0]
    assert failed == []
    running = json.loads(vessel_run("--format", "json", command="ps").stdout)
    assert sorted(c["name"] for c in running) == sorted(f"c{i}" for i in range(50))
    with ThreadPoolExecutor(max_workers=10) as pool:
        assert all(r.returncode == 0 for r in pool.map(
            lambda i: vessel_run("-f", f"c{i}", command="rm", timeout=120), range(50)))


def test_run_and_exec_with_a_terminal(vessel_run, tmp_path):
    import pty

    def in_pty(*args):
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(VESSEL, [VESSEL, "--root", str(tmp_path / "store"), "--state",
                              str(tmp_path / "state"), *args])
        out = b""
        while True:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), out

    code, out = in_pty("run", "-it", "--name", "tty1", "busybox", "sh", "-c", "tty; exit 3")
    assert code == 3 and b"/dev/pts/" in out, out
    cid = vessel_run("-d", "busybox", "sleep", "30").stdout.strip()
    code, out = in_pty("exec", "-it", cid, "sh", "-c", "tty; exit 4")
    assert code == 4 and b"/dev/pts/" in out, out


def test_foreground_output_is_logged(vessel_run):
    res = vessel_run("--name", "fg", "busybox", "sh", "-c", "echo out; echo err >&2; exit 2")
    assert (res.returncode, res.stdout, res.stderr) == (2, "out\n", "err\n")
    logs = vessel_run("fg", command="logs")
    assert (logs.stdout, logs.stderr) == ("out\n", "err\n")
