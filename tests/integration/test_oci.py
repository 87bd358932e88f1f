"""The runc-compatible surface of vessel-runc, checked against runc's behaviour.

Run against runc itself with VESSEL_RUNTIME=/usr/sbin/runc to check the tests.
"""

import json
import os
import select
import socket
import threading
import time

import pytest

from conftest import USER_ID, GROUP_ID, new_id, pid_alive, wait_status

SLEEP = ["/probe", "sleep", "60"]
# PID 1 of a pid namespace only gets the signals it handles: this init exits on SIGTERM.
TRAP_TERM = ["/bin/sh", "-c", "trap 'exit 143' TERM; while :; do sleep 0.1; done"]


def ok(res):
    assert res.returncode == 0, f"exit {res.returncode}\nstdout: {res.stdout}\nstderr: {res.stderr}"
    return res


def state(run_rt, cid):
    return json.loads(ok(run_rt("state", cid)).stdout)


def running(run_rt, bundle, args=SLEEP, **kw):
    """create + start a container running @args; returns (id, Bundle, state dict)."""
    b = bundle(args=args, **kw)
    cid = new_id()
    ok(run_rt("create", "--bundle", b.path, cid))
    ok(run_rt("start", cid))
    st = wait_status(run_rt, cid, "running")
    assert st and st["status"] == "running", st
    return cid, b, st


def run_probe(run_rt, bundle, *probe_args, **kw):
    """`run` a container whose process is /probe @probe_args; returns the CompletedProcess."""
    b = bundle(args=["/probe", *probe_args], **kw)
    return run_rt("run", "--bundle", b.path, new_id())


# ---------------------------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------------------------


def test_run_true(run_rt, bundle):
    b = bundle(args=["/bin/sh", "-c", "/probe true && /probe write /tmp/ran yes"])
    res = ok(run_rt("run", "--bundle", b.path, new_id()))
    assert res.stdout == ""
    assert (b.rootfs / "tmp/ran").read_text() == "yes"


@pytest.mark.parametrize("code", [1, 7, 42])
def test_run_exit_status_propagates(run_rt, bundle, code):
    assert run_probe(run_rt, bundle, "exit", str(code)).returncode == code


def test_run_stdout_passthrough(run_rt, bundle):
    assert ok(run_probe(run_rt, bundle, "echo", "hi")).stdout == "hi\n"


def test_run_stdin_passthrough(run_rt, bundle):
    b = bundle(args=["/bin/cat"])
    res = ok(run_rt("run", "--bundle", b.path, new_id(), input="from stdin\n"))
    assert res.stdout == "from stdin\n"


def test_run_removes_container(run_rt, bundle, runtime_root):
    b = bundle(args=["/probe", "write", "/tmp/ran", "yes"])
    cid = new_id()
    ok(run_rt("run", "--bundle", b.path, cid))
    assert (b.rootfs / "tmp/ran").exists()
    assert cid not in ok(run_rt("list", "-q")).stdout.split()
    assert not os.path.exists(os.path.join(runtime_root, cid))
    assert b.cgroup_dirs() == []


def test_run_detach(run_rt, bundle):
    b = bundle(args=SLEEP)
    cid = new_id()
    pidfile = b.tmp / "pid"
    ok(run_rt("run", "--detach", "--pid-file", pidfile, "--bundle", b.path, cid))
    st = state(run_rt, cid)
    assert st["status"] == "running"
    assert int(pidfile.read_text()) == st["pid"]
    ok(run_rt("delete", "--force", cid))


def test_run_bundle_relative_to_cwd(run_rt, bundle):
    b = bundle(args=["/probe", "echo", "cwd-bundle"])
    res = ok(run_rt("run", new_id(), cwd=b.path))
    assert res.stdout == "cwd-bundle\n"


# ---------------------------------------------------------------------------------------------
# create / start / state / kill / delete
# ---------------------------------------------------------------------------------------------


def test_lifecycle(run_rt, bundle):
    b = bundle(args=["/probe", "sleep", "0.5"])
    cid = new_id()
    pidfile = b.tmp / "container.pid"
    ok(run_rt("create", "--bundle", b.path, "--pid-file", pidfile, cid))

    st = state(run_rt, cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["ociVersion"]
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert st["bundle"] == str(b.path.resolve())
    assert os.path.isabs(st["bundle"])
    assert int(pidfile.read_text().strip()) == st["pid"]
    assert pid_alive(st["pid"])

    ok(run_rt("start", cid))
    st2 = state(run_rt, cid)
    assert st2["status"] in ("running", "stopped")
    assert st2["pid"] == st["pid"]

    st3 = wait_status(run_rt, cid, "stopped")
    assert st3["status"] == "stopped"
    assert not pid_alive(st["pid"])

    ok(run_rt("delete", cid))
    assert run_rt("state", cid).returncode != 0
    assert b.cgroup_dirs() == []


def test_start_twice_fails(run_rt, bundle):
    cid, _, _ = running(run_rt, bundle)
    assert run_rt("start", cid).returncode != 0
    assert state(run_rt, cid)["status"] == "running"


def test_created_container_has_cgroup(run_rt, bundle):
    b = bundle(args=SLEEP)
    cid = new_id()
    ok(run_rt("create", "--bundle", b.path, cid))
    assert b.cgroup_dirs(), "no cgroup directory under /vessel-test for cgroupsPath"
    ok(run_rt("delete", "--force", cid))
    assert b.cgroup_dirs() == []


@pytest.mark.parametrize("sig", ["SIGTERM", "TERM", "15"])
def test_kill_term(run_rt, bundle, sig):
    cid, _, st = running(run_rt, bundle, args=TRAP_TERM)
    ok(run_rt("kill", cid, sig))
    assert wait_status(run_rt, cid, "stopped")["status"] == "stopped"
    assert not pid_alive(st["pid"])


def test_kill_default_signal_is_term(run_rt, bundle):
    cid, _, _ = running(run_rt, bundle, args=TRAP_TERM)
    ok(run_rt("kill", cid))
    assert wait_status(run_rt, cid, "stopped")["status"] == "stopped"


@pytest.mark.parametrize("sig", ["SIGKILL", "KILL", "9"])
def test_kill_kill(run_rt, bundle, sig):
    cid, _, st = running(run_rt, bundle)
    ok(run_rt("kill", cid, sig))
    assert wait_status(run_rt, cid, "stopped")["status"] == "stopped"
    assert not pid_alive(st["pid"])


def test_kill_all(run_rt, bundle):
    cid, _, st = running(run_rt, bundle)
    ok(run_rt("kill", "--all", cid, "KILL"))
    assert wait_status(run_rt, cid, "stopped")["status"] == "stopped"


def test_kill_created_container(run_rt, bundle):
    b = bundle(args=SLEEP)
    cid = new_id()
    ok(run_rt("create", "--bundle", b.path, cid))
    ok(run_rt("kill", cid, "KILL"))
    assert wait_status(run_rt, cid, "stopped")["status"] == "stopped"


@pytest.mark.parametrize("sig", ["SIGFOO", "NOTASIG", "-3", "999"])
def test_kill_bad_signal(run_rt, bundle, sig):
    cid, _, st = running(run_rt, bundle)
    res = run_rt("kill", cid, sig)
    assert res.returncode != 0
    assert state(run_rt, cid)["status"] == "running"
    assert pid_alive(st["pid"])


def test_delete_stopped(run_rt, bundle, runtime_root):
    cid, b, st = running(run_rt, bundle)
    ok(run_rt("kill", cid, "KILL"))
    wait_status(run_rt, cid, "stopped")
    assert cid in ok(run_rt("list", "-q")).stdout.split()
    ok(run_rt("delete", cid))
    assert cid not in ok(run_rt("list", "-q")).stdout.split()
    assert not os.path.exists(os.path.join(runtime_root, cid))
    assert b.cgroup_dirs() == []


def test_delete_running_without_force_fails(run_rt, bundle):
    cid, _, st = running(run_rt, bundle)
    assert run_rt("delete", cid).returncode != 0
    assert state(run_rt, cid)["status"] == "running"
    assert pid_alive(st["pid"])


def test_delete_force_running(run_rt, bundle, runtime_root):
    cid, b, st = running(run_rt, bundle)
    ok(run_rt("delete", "--force", cid))
    assert cid not in ok(run_rt("list", "-q")).stdout.split()
    assert not os.path.exists(os.path.join(runtime_root, cid))
    deadline = time.monotonic() + 5
    while pid_alive(st["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(st["pid"])
    assert b.cgroup_dirs() == []


def test_delete_created(run_rt, bundle):
    b = bundle(args=SLEEP)
    cid = new_id()
    ok(run_rt("create", "--bundle", b.path, cid))
    pid = state(run_rt, cid)["pid"]
    ok(run_rt("delete", "--force", cid))
    assert run_rt("state", cid).returncode != 0
    time.sleep(0.1)
    assert not pid_alive(pid)


# ---------------------------------------------------------------------------------------------
# list / ps
# ---------------------------------------------------------------------------------------------


def test_list_empty(run_rt):
    assert ok(run_rt("list", "-q")).stdout.strip() == ""
    res = ok(run_rt("list", "--format", "json"))
    assert json.loads(res.stdout or "null") in (None, [])


def test_list_formats(run_rt, bundle):
    cid, b, st = running(run_rt, bundle)
    b2 = bundle(args=SLEEP)
    cid2 = new_id()
    ok(run_rt("create", "--bundle", b2.path, cid2))

    table = ok(run_rt("list")).stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    rows = {line.split()[0]: line.split() for line in table[1:] if line.strip()}
    assert rows[cid][1] == str(st["pid"]) and rows[cid][2] == "running"
    assert rows[cid2][2] == "created"

    entries = {e["id"]: e for e in json.loads(ok(run_rt("list", "--format", "json")).stdout)}
    assert set(entries) == {cid, cid2}
    assert entries[cid]["status"] == "running"
    assert entries[cid]["pid"] == st["pid"]
    assert entries[cid]["bundle"] == str(b.path.resolve())
    assert entries[cid2]["status"] == "created"

    quiet = ok(run_rt("list", "-q")).stdout.split()
    assert sorted(quiet) == sorted([cid, cid2])


def test_ps_json(run_rt, bundle):
    cid, _, st = running(run_rt, bundle)
    pids = json.loads(ok(run_rt("ps", "--format", "json", cid)).stdout)
    assert pids == [st["pid"]]


def test_ps_table(run_rt, bundle):
    cid, _, st = running(run_rt, bundle)
    out = ok(run_rt("ps", cid)).stdout
    assert "PID" in out.splitlines()[0]
    assert str(st["pid"]) in out


# ---------------------------------------------------------------------------------------------
# exec
# ---------------------------------------------------------------------------------------------


def test_exec_echo(run_rt, bundle):
    cid, _, _ = running(run_rt, bundle)
    assert ok(run_rt("exec", cid, "/probe", "echo", "x")).stdout == "x\n"


@pytest.mark.parametrize("code", [1, 5])
def test_exec_exit_status(run_rt, bundle, code):
    cid, _, _ = running(run_rt, bundle)
    assert run_rt("exec", cid, "/probe", "exit", str(code)).returncode == code


def test_exec_joins_pid_namespace(run_rt, bundle):
    cid, _, _ = running(run_rt, bundle)
    pid = int(ok(run_rt("exec", cid, "/probe", "pid")).stdout)
    assert pid > 1  # the init is pid 1 in the container's pid namespace


def test_exec_sees_container_hostname(run_rt, bundle):
    cid, _, _ = running(run_rt, bundle, hostname="exec-host")
    assert ok(run_rt("exec", cid, "/probe", "hostname")).stdout == "exec-host\n"


def test_exec_env_cwd_user(run_rt, bundle):
    cid, _, _ = running(run_rt, bundle)
    env = ok(run_rt("exec", "--env", "FOO=bar", cid, "/probe", "env")).stdout.splitlines()
    assert "FOO=bar" in env
    cwd = ok(run_rt("exec", "--cwd", "/tmp", cid, "/probe", "cwd")).stdout
    assert cwd == "/tmp\n"
    ident = ok(run_rt("exec", "--user", f"{USER_ID}:{GROUP_ID}", cid, "/probe", "id")).stdout
    assert ident.startswith(f"uid={USER_ID} gid={GROUP_ID} ")


def test_exec_process_file(run_rt, bundle):
    cid, b, _ = running(run_rt, bundle)
    process = {
        "terminal": False,
        "user": {"uid": USER_ID, "gid": GROUP_ID},
        "args": ["/probe", "env"],
        "env": ["PATH=/bin", "FROM_PROCESS_FILE=1"],
        "cwd": "/tmp",
    }
    pfile = b.tmp / "process.json"
    pfile.write_text(json.dumps(process))
    env = ok(run_rt("exec", "--process", pfile, cid)).stdout.splitlines()
    assert "FROM_PROCESS_FILE=1" in env
    process["args"] = ["/probe", "id"]
    pfile.write_text(json.dumps(process))
    assert ok(run_rt("exec", "--process", pfile, cid)).stdout.startswith(f"uid={USER_ID} ")
    process["args"] = ["/probe", "cwd"]
    pfile.write_text(json.dumps(process))
    assert ok(run_rt("exec", "--process", pfile, cid)).stdout == "/tmp\n"


def test_exec_detach_and_ps(run_rt, bundle):
    cid, b, st = running(run_rt, bundle)
    pidfile = b.tmp / "exec.pid"
    ok(run_rt("exec", "--detach", "--pid-file", pidfile, cid, "/probe", "sleep", "30"))
    exec_pid = int(pidfile.read_text().strip())
    assert exec_pid > 0 and exec_pid != st["pid"]
    pids = json.loads(ok(run_rt("ps", "--format", "json", cid)).stdout)
    assert sorted(pids) == sorted([st["pid"], exec_pid])


def test_exec_into_stopped_fails(run_rt, bundle):
    cid, _, _ = running(run_rt, bundle)
    ok(run_rt("kill", cid, "KILL"))
    wait_status(run_rt, cid, "stopped")
    assert run_rt("exec", cid, "/probe", "true").returncode != 0


def test_exec_unknown_container(run_rt):
    assert run_rt("exec", new_id(), "/probe", "true").returncode != 0


# ---------------------------------------------------------------------------------------------
# pause / resume
# ---------------------------------------------------------------------------------------------


def test_pause_resume(run_rt, bundle):
    cid, _, _ = running(run_rt, bundle)
    ok(run_rt("pause", cid))
    assert state(run_rt, cid)["status"] == "paused"
    ok(run_rt("resume", cid))
    assert state(run_rt, cid)["status"] == "running"
    assert ok(run_rt("exec", cid, "/probe", "echo", "alive")).stdout == "alive\n"


def test_delete_force_paused(run_rt, bundle):
    cid, b, _ = running(run_rt, bundle)
    ok(run_rt("pause", cid))
    ok(run_rt("delete", "--force", cid))
    assert run_rt("state", cid).returncode != 0
    assert b.cgroup_dirs() == []


# ---------------------------------------------------------------------------------------------
# process and linux settings from config.json
# ---------------------------------------------------------------------------------------------


def test_hostname(run_rt, bundle):
    res = ok(run_probe(run_rt, bundle, "hostname", hostname="vessel-test-host"))
    assert res.stdout == "vessel-test-host\n"


def test_env_from_config(run_rt, bundle):
    env = ["PATH=/bin", "FOO=bar", "EMPTY="]
    res = ok(run_probe(run_rt, bundle, "env", env=env))
    lines = res.stdout.splitlines()
    for e in env:
        assert e in lines


def test_cwd_from_config(run_rt, bundle):
    assert ok(run_probe(run_rt, bundle, "cwd", cwd="/tmp")).stdout == "/tmp\n"


def test_cwd_created_if_missing(run_rt, bundle):
    assert ok(run_probe(run_rt, bundle, "cwd", cwd="/new/dir")).stdout == "/new/dir\n"


def test_user(run_rt, bundle):
    user = {"uid": USER_ID, "gid": GROUP_ID, "additionalGids": [5, 100]}
    out = ok(run_probe(run_rt, bundle, "id", user=user)).stdout.strip()
    uid, gid, groups = out.split()
    assert uid == f"uid={USER_ID}" and gid == f"gid={GROUP_ID}"
    assert set(groups.split("=")[1].split(",")) >= {"5", "100"}


def test_user_root_default(run_rt, bundle):
    out = ok(run_probe(run_rt, bundle, "id")).stdout
    assert out.startswith("uid=0 gid=0 ")


def test_args_path_lookup(run_rt, bundle):
    b = bundle(args=["echo", "looked up"], env=["PATH=/bin"])
    assert ok(run_rt("run", "--bundle", b.path, new_id())).stdout == "looked up\n"


def test_pid_namespace(run_rt, bundle):
    assert ok(run_probe(run_rt, bundle, "pid")).stdout == "1\n"


def test_readonly_root(run_rt, bundle):
    assert ok(run_probe(run_rt, bundle, "open-write", "/etc/passwd", readonly=True)).stdout == (
        "EROFS\n"
    )
    res = run_probe(run_rt, bundle, "mkdir", "/newdir", readonly=True)
    assert res.returncode != 0 and "EROFS" in res.stdout


def test_writable_root(run_rt, bundle):
    res = ok(run_probe(run_rt, bundle, "open-write", "/etc/passwd", readonly=False))
    assert res.stdout == "OK\n"


def _bind_source(b, text):
    src = b.tmp / "bindsrc"
    src.mkdir()
    (src / "file").write_text(text)
    return src


def test_bind_mount_ro(run_rt, bundle):
    b = bundle(args=["/probe", "open-write", "/data/file"])
    src = _bind_source(b, "bound\n")
    b.config["mounts"].append(
        {"destination": "/data", "type": "bind", "source": str(src), "options": ["rbind", "ro"]}
    )
    b.write_config()
    assert ok(run_rt("run", "--bundle", b.path, new_id())).stdout == "EROFS\n"
    b.config["process"]["args"] = ["/probe", "cat", "/data/file"]
    b.write_config()
    assert ok(run_rt("run", "--bundle", b.path, new_id())).stdout == "bound\n"


def test_bind_mount_rw(run_rt, bundle):
    b = bundle(args=["/probe", "write", "/data/new", "written from container"])
    src = _bind_source(b, "x")
    b.config["mounts"].append(
        {"destination": "/data", "type": "bind", "source": str(src), "options": ["rbind", "rw"]}
    )
    b.write_config()
    ok(run_rt("run", "--bundle", b.path, new_id()))
    assert (src / "new").read_text() == "written from container"


def test_bind_mount_file_creates_destination(run_rt, bundle):
    b = bundle(args=["/probe", "cat", "/etc/bound-file"])
    src = b.tmp / "single"
    src.write_text("single file\n")
    b.config["mounts"].append(
        {"destination": "/etc/bound-file", "type": "bind", "source": str(src),
         "options": ["bind", "ro"]}
    )
    b.write_config()
    assert ok(run_rt("run", "--bundle", b.path, new_id())).stdout == "single file\n"


def test_tmpfs_mount(run_rt, bundle):
    mounts = [{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "nodev", "size=1m", "mode=1777"]}]
    res = ok(run_probe(run_rt, bundle, "mounts", extra_mounts=mounts))
    lines = [line for line in res.stdout.splitlines() if line.split()[4] == "/scratch"]
    assert lines, res.stdout
    assert " - tmpfs " in lines[-1]
    b = bundle(args=["/probe", "write", "/scratch/f", "t"], extra_mounts=mounts)
    ok(run_rt("run", "--bundle", b.path, new_id()))
    assert not (b.rootfs / "scratch" / "f").exists()


def test_proc_and_dev_mounted(run_rt, bundle):
    res = ok(run_probe(run_rt, bundle, "mounts"))
    targets = {line.split()[4]: line for line in res.stdout.splitlines()}
    assert " - proc " in targets["/proc"]
    assert " - tmpfs " in targets["/dev"]
    assert " - devpts " in targets["/dev/pts"]
    assert " - sysfs " in targets["/sys"]


@pytest.mark.parametrize("path", ["/proc/kcore", "/proc/timer_list", "/proc/keys"])
def test_masked_proc_file(run_rt, bundle, path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this kernel")
    b = bundle(args=["/bin/sh", "-c", f"/probe cat {path} && echo END"])
    assert ok(run_rt("run", "--bundle", b.path, new_id())).stdout == "END\n"


def test_masked_paths_in_rootfs(run_rt, bundle):
    b = bundle(args=["/bin/sh", "-c", "/probe cat /etc/secret && echo END"],
               masked=["/etc/secret", "/srv"])
    (b.rootfs / "etc/secret").write_text("do not show\n")
    (b.rootfs / "srv/hidden").write_text("hidden\n")
    assert ok(run_rt("run", "--bundle", b.path, new_id())).stdout == "END\n"
    b.config["process"]["args"] = ["/bin/sh", "-c", "/probe ls /srv && echo END"]
    b.write_config()
    assert ok(run_rt("run", "--bundle", b.path, new_id())).stdout == "END\n"


def test_readonly_paths(run_rt, bundle):
    res = ok(run_probe(run_rt, bundle, "open-write", "/proc/sys/kernel/hostname"))
    assert res.stdout == "EROFS\n"


def test_readonly_paths_absent_allows_write(run_rt, bundle):
    # Without readonlyPaths the uts-namespaced hostname file is writable by root.
    res = ok(run_probe(run_rt, bundle, "open-write", "/proc/sys/kernel/hostname",
                       readonly_paths=[], capabilities=_caps(["CAP_SYS_ADMIN"])))
    assert res.stdout == "OK\n"


def test_rlimits(run_rt, bundle):
    rl = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]
    assert ok(run_probe(run_rt, bundle, "rlimit", "NOFILE", rlimits=rl)).stdout == "100 200\n"


@pytest.mark.parametrize("nnp,want", [(True, "1\n"), (False, "0\n")])
def test_no_new_privileges(run_rt, bundle, nnp, want):
    assert ok(run_probe(run_rt, bundle, "nnp", no_new_privs=nnp)).stdout == want


def _caps(names, ambient=False):
    return {"bounding": names, "effective": names, "permitted": names,
            "inheritable": names if ambient else [], "ambient": names if ambient else []}


def _cap_lines(out):
    return {k: int(v, 16) for k, v in (line.split(":") for line in out.splitlines())}


def test_capabilities_exact(run_rt, bundle):
    # CAP_CHOWN = 0, CAP_KILL = 5, CAP_NET_BIND_SERVICE = 10
    caps = _caps(["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    got = _cap_lines(ok(run_probe(run_rt, bundle, "caps", capabilities=caps)).stdout)
    mask = (1 << 0) | (1 << 5) | (1 << 10)
    assert got["CapEff"] == mask
    assert got["CapPrm"] == mask
    assert got["CapBnd"] == mask
    assert got["CapInh"] == 0
    assert got["CapAmb"] == 0


def test_capabilities_ambient_for_non_root(run_rt, bundle):
    caps = _caps(["CAP_KILL", "CAP_NET_BIND_SERVICE"], ambient=True)
    user = {"uid": USER_ID, "gid": GROUP_ID}
    got = _cap_lines(ok(run_probe(run_rt, bundle, "caps", capabilities=caps, user=user)).stdout)
    mask = (1 << 5) | (1 << 10)
    assert got["CapEff"] == mask
    assert got["CapAmb"] == mask
    assert got["CapBnd"] == mask


def test_capabilities_empty(run_rt, bundle):
    got = _cap_lines(ok(run_probe(run_rt, bundle, "caps", capabilities=_caps([]))).stdout)
    assert got["CapEff"] == 0 and got["CapBnd"] == 0


def test_no_cap_sys_admin_cannot_mount(run_rt, bundle):
    assert ok(run_probe(run_rt, bundle, "mount-proc")).stdout == "EPERM\n"


@pytest.mark.parametrize("dev,rdev", [
    ("/dev/null", "1:3"), ("/dev/zero", "1:5"), ("/dev/full", "1:7"),
    ("/dev/random", "1:8"), ("/dev/urandom", "1:9"), ("/dev/tty", "5:0"),
])
def test_default_devices(run_rt, bundle, dev, rdev):
    out = ok(run_probe(run_rt, bundle, "stat", dev)).stdout.split()
    assert out[0] == "char" and out[1] == rdev


def test_default_dev_symlinks(run_rt, bundle):
    out = ok(run_probe(run_rt, bundle, "stat", "/dev/fd")).stdout.split()
    assert out[0] == "symlink"


def test_dev_null_writable(run_rt, bundle):
    assert ok(run_probe(run_rt, bundle, "open-write", "/dev/null")).stdout == "OK\n"


def test_network_namespace_only_loopback(run_rt, bundle):
    out = ok(run_probe(run_rt, bundle, "ls", "/sys/class/net")).stdout.split()
    assert out == ["lo"]


# ---------------------------------------------------------------------------------------------
# hooks
# ---------------------------------------------------------------------------------------------

HOOK_STATUS = {
    "prestart": {"creating", "created"},
    "createRuntime": {"creating", "created"},
    "poststart": {"created", "running"},  # runc 1.1 passes "created"; the spec says running
    "poststop": {"stopped"},
}


def test_hooks(run_rt, bundle):
    b = bundle()
    hooks = {
        kind: [{"path": "/bin/sh", "args": ["sh", "-c", f"cat > {b.tmp}/{kind}.json"]}]
        for kind in HOOK_STATUS
    }
    b.config["hooks"] = hooks
    b.write_config()
    cid = new_id()
    ok(run_rt("run", "--bundle", b.path, cid))
    for kind, allowed in HOOK_STATUS.items():
        path = b.tmp / f"{kind}.json"
        assert path.exists(), f"{kind} hook did not run"
        st = json.loads(path.read_text())
        assert st["id"] == cid, kind
        assert st["status"] in allowed, (kind, st)
        assert st["bundle"] == str(b.path.resolve()), kind
        if kind != "poststop":
            assert st["pid"] > 0, kind


def test_hook_args_and_env(run_rt, bundle):
    b = bundle()
    out = b.tmp / "out"
    b.config["hooks"] = {"prestart": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", f'echo "$0 $1 $HOOKVAR" > {out}', "a0", "a1"],
        "env": ["HOOKVAR=hv"],
    }]}
    b.write_config()
    ok(run_rt("run", "--bundle", b.path, new_id()))
    assert out.read_text() == "a0 a1 hv\n"


def test_failing_prestart_hook_fails_create(run_rt, bundle, runtime_root):
    b = bundle(args=SLEEP)
    b.config["hooks"] = {"prestart": [{"path": "/bin/false", "args": ["false"]}]}
    b.write_config()
    cid = new_id()
    assert run_rt("run", "--bundle", b.path, cid).returncode != 0
    assert cid not in run_rt("list", "-q").stdout.split()
    assert b.cgroup_dirs() == []


# ---------------------------------------------------------------------------------------------
# fds and terminals
# ---------------------------------------------------------------------------------------------


def test_preserve_fds(vessel, runtime_root, bundle):
    from conftest import _run

    b = bundle(args=["/probe", "cat", "/proc/self/fd/3"])
    data = b.tmp / "fd3"
    data.write_text("preserved\n")
    script = 'exec 3<"$0"; exec "$@"'
    base = ["sh", "-c", script, str(data), vessel, "--root", runtime_root, "run"]
    res = ok(_run(base + ["--preserve-fds", "1", "--bundle", str(b.path), new_id()]))
    assert res.stdout == "preserved\n"
    # Without --preserve-fds, fd 3 is closed in the container.
    b.config["process"]["args"] = ["/probe", "fds"]
    b.write_config()
    res = ok(_run(base + ["--bundle", str(b.path), new_id()]))
    assert "3" not in [line.split()[0] for line in res.stdout.splitlines()]


class ConsoleServer:
    """An AF_UNIX server that receives the pty master fd sent by the runtime (SCM_RIGHTS)."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.master = None
        self.error = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        try:
            self.sock.settimeout(20)
            conn, _ = self.sock.accept()
            with conn:
                _msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
                if fds:
                    self.master = fds[0]
                    for extra in fds[1:]:
                        os.close(extra)
        except OSError as e:
            self.error = e

    def read_until(self, text, timeout=10):
        self.thread.join(timeout)
        assert self.master is not None, f"no pty master received ({self.error})"
        buf = b""
        deadline = time.monotonic() + timeout
        while text.encode() not in buf and time.monotonic() < deadline:
            r, _, _ = select.select([self.master], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: the slave side closed
                    break
                if not chunk:
                    break
                buf += chunk
        return buf.decode(errors="replace")

    def close(self):
        if self.master is not None:
            os.close(self.master)
        self.sock.close()


def test_console_socket(run_rt, bundle):
    b = bundle(args=["/bin/sh", "-c", "/probe isatty; sleep 2"], terminal=True)
    server = ConsoleServer(b.tmp / "console.sock")
    try:
        cid = new_id()
        ok(run_rt("create", "--console-socket", server.path, "--bundle", b.path, cid))
        ok(run_rt("start", cid))
        out = server.read_until("yes yes")
        assert "yes yes" in out, out
    finally:
        server.close()


def test_terminal_without_console_socket_fails_detached(run_rt, bundle):
    b = bundle(args=SLEEP, terminal=True)
    cid = new_id()
    assert run_rt("create", "--bundle", b.path, cid).returncode != 0
    assert cid not in run_rt("list", "-q").stdout.split()


def test_run_terminal_without_console_socket(vessel, runtime_root, bundle):
    """Like runc, `run` in the foreground holds the pty itself and joins it to our stdio."""
    import pty

    b = bundle(
        args=["/bin/sh", "-c", "/probe isatty; tty; stat -c console=%t:%T /dev/console; exit 5"],
        terminal=True,
    )
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(vessel, [vessel, "--root", runtime_root, "run", "--bundle", str(b.path), new_id()])
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
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 5, out
    assert b"/dev/pts/" in out, out
    assert b"yes" in out, out
    assert b"console=88:" in out, out  # /dev/console is the pty (major 136)


def test_not_a_tty_without_terminal(run_rt, bundle):
    assert ok(run_probe(run_rt, bundle, "isatty")).stdout == "no no\n"


# ---------------------------------------------------------------------------------------------
# spec / features
# ---------------------------------------------------------------------------------------------


def test_spec(run_rt, tmp_path):
    ok(run_rt("spec", cwd=tmp_path))
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert isinstance(cfg["process"]["args"], list) and cfg["process"]["args"]
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["root"]["path"] == "rootfs"
    assert {n["type"] for n in cfg["linux"]["namespaces"]} >= {"pid", "mount"}


def test_spec_refuses_to_overwrite(run_rt, tmp_path):
    (tmp_path / "config.json").write_text("keep")
    assert run_rt("spec", cwd=tmp_path).returncode != 0
    assert (tmp_path / "config.json").read_text() == "keep"


def test_features(run_rt):
    feat = json.loads(ok(run_rt("features")).stdout)
    assert feat["ociVersionMin"].startswith("1.")
    assert feat["ociVersionMax"].startswith("1.")
    assert "prestart" in feat.get("hooks", []) or "createRuntime" in feat.get("hooks", [])
    namespaces = feat.get("linux", {}).get("namespaces", [])
    assert {"pid", "mount", "network", "uts", "ipc"} <= set(namespaces)


# ---------------------------------------------------------------------------------------------
# Bad input: a clear error, and nothing left behind
# ---------------------------------------------------------------------------------------------


def _create_fails(run_rt, b, runtime_root, cid=None):
    """create must fail and leave no container, state directory or cgroup; returns the
    error text (stderr + --log file)."""
    cid = cid or new_id()
    log = b.tmp / "runtime.log"
    res = run_rt("create", "--bundle", b.path, cid, globals=("--log", str(log)))
    assert res.returncode != 0, f"create succeeded: {res.stdout}"
    assert cid not in ok(run_rt("list", "-q")).stdout.split()
    assert run_rt("state", cid).returncode != 0
    assert not os.path.exists(os.path.join(runtime_root, cid))
    assert b.cgroup_dirs() == []
    text = res.stderr + (log.read_text(errors="replace") if log.exists() else "")
    assert text.strip(), "no error message"
    return text


def test_bad_malformed_json(run_rt, bundle, runtime_root):
    b = bundle()
    b.write_raw('{"ociVersion": "1.0.2", "process": {')
    _create_fails(run_rt, b, runtime_root)


def test_bad_config_missing(run_rt, bundle, runtime_root):
    b = bundle()
    (b.path / "config.json").unlink()
    assert "config.json" in _create_fails(run_rt, b, runtime_root)


def test_bad_args_type(run_rt, bundle, runtime_root):
    b = bundle()
    b.config["process"]["args"] = "/probe true"
    b.write_config()
    assert "args" in _create_fails(run_rt, b, runtime_root)


def test_bad_args_missing(run_rt, bundle, runtime_root):
    b = bundle()
    del b.config["process"]["args"]
    b.write_config()
    assert "args" in _create_fails(run_rt, b, runtime_root)


def test_bad_args_empty(run_rt, bundle, runtime_root):
    b = bundle(args=[])
    assert "args" in _create_fails(run_rt, b, runtime_root)


def test_bad_namespace_type(run_rt, bundle, runtime_root):
    b = bundle(namespaces=["pid", "foo", "mount"])
    assert "foo" in _create_fails(run_rt, b, runtime_root)


def test_bad_duplicate_namespace(run_rt, bundle, runtime_root):
    b = bundle(namespaces=["pid", "mount", "pid"])
    _create_fails(run_rt, b, runtime_root)


def test_bad_root_missing(run_rt, bundle, runtime_root):
    b = bundle()
    b.config["root"]["path"] = "no-such-rootfs"
    b.write_config()
    assert "no-such-rootfs" in _create_fails(run_rt, b, runtime_root)


def test_bad_executable_missing(run_rt, bundle, runtime_root):
    b = bundle(args=["/no/such/binary"])
    assert "/no/such/binary" in _create_fails(run_rt, b, runtime_root)


def test_bad_mount_type_rejected(run_rt, bundle, runtime_root):
    b = bundle(extra_mounts=[{"destination": "/x", "type": "nosuchfs", "source": "none"}])
    _create_fails(run_rt, b, runtime_root)


def test_bad_bind_source_missing(run_rt, bundle, runtime_root):
    b = bundle(extra_mounts=[{"destination": "/x", "type": "bind",
                              "source": "/nonexistent/vessel-src", "options": ["bind"]}])
    _create_fails(run_rt, b, runtime_root)


def test_bad_duplicate_id(run_rt, bundle):
    b = bundle(args=SLEEP)
    cid = new_id()
    ok(run_rt("create", "--bundle", b.path, cid))
    pid = state(run_rt, cid)["pid"]
    b2 = bundle(args=SLEEP)
    assert run_rt("create", "--bundle", b2.path, cid).returncode != 0
    st = state(run_rt, cid)
    assert st["status"] == "created" and st["pid"] == pid
    assert st["bundle"] == str(b.path.resolve())
    assert b2.cgroup_dirs() == []


@pytest.mark.parametrize("cmd", [["start"], ["state"], ["kill"], ["kill", "KILL"], ["delete"],
                                 ["pause"], ["resume"], ["ps"]])
def test_bad_unknown_id(run_rt, cmd):
    res = run_rt(cmd[0], new_id(), *cmd[1:])
    assert res.returncode != 0
    assert res.stderr.strip()


@pytest.mark.parametrize("cid", ["../escape", "a/b", "", "."])
def test_bad_container_id(run_rt, bundle, runtime_root, cid):
    b = bundle()
    res = run_rt("create", "--bundle", b.path, cid)
    assert res.returncode != 0
    if os.path.isdir(runtime_root):
        assert os.listdir(runtime_root) == []
    assert not os.path.exists(os.path.join(os.path.dirname(runtime_root), "escape"))
    assert b.cgroup_dirs() == []


# Vessel's own wording: errors name the config field, JSON-path style.


@pytest.mark.vessel_only
def test_vessel_message_namespace(run_rt, bundle, runtime_root):
    b = bundle(namespaces=["pid", "foo"])
    text = _create_fails(run_rt, b, runtime_root)
    assert "linux.namespaces[" in text and "foo" in text


@pytest.mark.vessel_only
def test_vessel_message_args_type(run_rt, bundle, runtime_root):
    b = bundle()
    b.config["process"]["args"] = 42
    b.write_config()
    assert "process.args" in _create_fails(run_rt, b, runtime_root)


@pytest.mark.vessel_only
def test_vessel_message_args_missing(run_rt, bundle, runtime_root):
    b = bundle()
    del b.config["process"]["args"]
    b.write_config()
    assert "process.args" in _create_fails(run_rt, b, runtime_root)


@pytest.mark.vessel_only
def test_vessel_message_malformed_json(run_rt, bundle, runtime_root):
    b = bundle()
    b.write_raw('{"ociVersion": "1.0.2", "process": {')
    assert "config.json" in _create_fails(run_rt, b, runtime_root)


@pytest.mark.vessel_only
def test_vessel_message_duplicate_namespace(run_rt, bundle, runtime_root):
    b = bundle(namespaces=["pid", "mount", "pid"])
    text = _create_fails(run_rt, b, runtime_root)
    assert "linux.namespaces[" in text and "pid" in text


@pytest.mark.vessel_only
def test_vessel_message_root_missing(run_rt, bundle, runtime_root):
    b = bundle()
    b.config["root"]["path"] = "no-such-rootfs"
    b.write_config()
    text = _create_fails(run_rt, b, runtime_root)
    assert "root.path" in text or "no-such-rootfs" in text


@pytest.mark.vessel_only
def test_vessel_log_format_json(run_rt, bundle, runtime_root):
    b = bundle(namespaces=["pid", "foo"])
    log = b.tmp / "log.json"
    res = run_rt("create", "--bundle", b.path, new_id(),
                 globals=("--log", str(log), "--log-format", "json"))
    assert res.returncode != 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert lines and any("foo" in json.dumps(entry) for entry in lines)
