"""`vessel vm run` with Debian's stock cloud kernel (linux-image-cloud-amd64), booted by PVH.

scripts/fetch-kernel downloads the package with `apt-get download`, unpacks it with
`dpkg-deb -x` into $VESSEL_ROOT/kernel (default /var/lib/vessel/kernel; never the host's
/boot) and extracts the uncompressed vmlinux from the bzImage. Tests skip with the reason when
/dev/kvm is missing or the package cannot be fetched (no network to Debian's mirror).

On this project's machines /dev/kvm is kvm_pvm (no vmx/svm in /proc/cpuinfo): guest kernel code
goes through KVM's instruction emulator, and the monitor finishes what it gives up on
(vmm/x86/emulate.c: int3, int n, cmpxchg16b, clac/stac, popcnt, the XSAVE family). The kernel
prints its banner within seconds and lists our ACPI tables; it later stops at AVX in its crypto
code (not emulated). The tests assert those milestones and that the VM ends cleanly (an error
naming the instruction, or the timeout), never a crash of the monitor. A full boot to
userspace needs vmx/svm: those tests (the default guest's command and shell, and its disk,
tap and vsock devices) skip elsewhere.

The default guest (`vessel vm run` without --kernel) boots that kernel with Vessel's initramfs
(engine/vm-image.h); its /init (src/agent/init.c) is also run here on the host, as PID 1 of a
PID namespace chrooted into a scratch root, without CAP_SYS_RAWIO and CAP_SYS_MODULE: no port
I/O and no module reaches the host, and its status shows in its "exit status N" warning.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from test_vm import _kvm_reason  # one definition of "KVM is usable"

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("VESSEL_BUILD") or REPO / "build").resolve()
VESSEL = BUILD / "vessel"
FETCH = REPO / "scripts" / "fetch-kernel"
CMDLINE = "console=ttyS0 earlyprintk=serial"
INIT = BUILD / "vessel-init"
BUSYBOX = Path("/bin/busybox")


def _hardware_virt():
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"^flags\s*:.*\b(vmx|svm)\b", flags, re.M) is not None


@pytest.fixture(scope="module")
def kvm():
    if _kvm_reason():
        pytest.skip(_kvm_reason())


@pytest.fixture(scope="module")
def vessel(kvm):
    if not os.access(VESSEL, os.X_OK):
        pytest.fail(f"{VESSEL} is missing (run `make`)", pytrace=False)
    return str(VESSEL)


@pytest.fixture(scope="module")
def vmlinux():
    """The stock kernel's vmlinux, fetched once (scripts/fetch-kernel is idempotent)."""
    root = os.environ.get("VESSEL_ROOT") or "/var/lib/vessel"
    kdir = Path(root) / "kernel"
    try:
        r = subprocess.run([str(FETCH), str(kdir)], capture_output=True, text=True,
                           timeout=900)
    except subprocess.TimeoutExpired:
        pytest.skip("fetching linux-image-cloud-amd64 took over 15 minutes (slow mirror?)")
    if r.returncode == 2:
        pytest.skip(f"cannot fetch linux-image-cloud-amd64: {r.stderr.strip()[-300:]}")
    assert r.returncode == 0, r.stderr
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.read_bytes()[:4] == b"\x7fELF"
    return path


def test_stock_kernel_prints_banner(vessel, vmlinux):
    r = subprocess.run(
        [vessel, "vm", "run", "--debug", "--kernel", str(vmlinux), "--memory", "512m",
         "--timeout", "60s", "--cmdline", CMDLINE],
        capture_output=True, text=True, errors="replace", timeout=150,
    )
    assert "Linux version" in r.stdout, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    # However far it gets, the VM ends cleanly: exit 0 (poweroff), or one error line from
    # the monitor naming the cause (an instruction it cannot emulate, or the timeout).
    assert r.returncode in (0, 1), r.stderr[-2000:]
    errors = [l for l in r.stderr.splitlines() if l.startswith("vessel: vm: ")]
    if r.returncode == 1:
        assert len(errors) == 1, r.stderr[-2000:]
        assert "rip=0x" in errors[0] or "timed out" in errors[0], errors[0]
    emulated = sorted(set(re.findall(r"emulated (\S+)", r.stderr)))
    last = [l for l in r.stdout.splitlines() if l.strip()][-1]
    print(f"\nstock kernel: emulated {emulated}; last console line: {last!r}; "
          f"end: {errors[0] if errors else 'status ' + str(r.returncode)}")


def test_stock_kernel_finds_acpi_tables(vessel, vmlinux):
    """The kernel lists our ACPI tables and takes its CPUs from the MADT (it has no MP-table
    parser). Read as the console streams and stopped at the CPU count (~10 s here); the VM's
    own --timeout bounds it if the kernel never gets there."""
    p = subprocess.Popen(
        [vessel, "vm", "run", "--kernel", str(vmlinux), "--memory", "512m", "--cpus", "2",
         "--timeout", "40s", "--cmdline", CMDLINE],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace",
    )
    seen = []
    try:
        for line in p.stdout:
            seen.append(line.rstrip())
            if "smpboot: Allowing" in line:
                break
    finally:
        p.kill()
        p.wait()
    out = "\n".join(seen)
    for table in ("RSDP", "XSDT", "FACP", "DSDT", "APIC"):
        assert re.search(rf"ACPI: {table} 0x00000000000E[0-9A-F]{{4}} ", out), out[-2000:]
    assert "ACPI BIOS Error" not in out, out[-2000:]
    assert "ACPI: Using ACPI (MADT) for SMP configuration information" in out, out[-2000:]
    assert "smpboot: Allowing 2 CPUs" in out, out[-2000:]


@pytest.fixture(scope="module")
def vessel_root(vmlinux, tmp_path_factory):
    """A VESSEL_ROOT whose kernel/ links to the fetched kernel (read-only): the initramfs cache
    is written there, never beside the real kernel."""
    root = tmp_path_factory.mktemp("vessel-root")
    (root / "kernel").mkdir()
    for name in ("vmlinux", "vmlinuz", "pkg"):
        (root / "kernel" / name).symlink_to(vmlinux.parent / name)
    shutil.copy(vmlinux.parent / "version", root / "kernel" / "version")
    return root


def _default_vm(vessel, root, *args, stdin=None, timeout=300):
    env = dict(os.environ, VESSEL_ROOT=str(root))
    return subprocess.run([vessel, "vm", "run", *args], input=stdin, env=env,
                          capture_output=True, text=True, errors="replace", timeout=timeout)


def _needs_hardware_virt():
    if not _hardware_virt():
        pytest.skip("needs vmx or svm in /proc/cpuinfo (this /dev/kvm emulates guest kernel "
                    "code, too slow for a full boot)")


def test_stock_kernel_boots_to_userspace(vessel, vessel_root):
    _needs_hardware_virt()
    r = _default_vm(vessel, vessel_root, "--", "echo", "MARK")
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    assert "MARK" in r.stdout.splitlines() or "MARK\r" in r.stdout.splitlines(), r.stdout


def test_default_vm_command_exit_status(vessel, vessel_root):
    _needs_hardware_virt()
    r = _default_vm(vessel, vessel_root, "--", "sh", "-c", "exit 7")
    assert r.returncode == 7, (r.stdout[-2000:], r.stderr[-2000:])


def test_default_vm_shell(vessel, vessel_root):
    _needs_hardware_virt()
    r = _default_vm(vessel, vessel_root, stdin="echo MARK; poweroff\n")
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    assert "MARK" in r.stdout


def test_default_vm_disk_read_and_write(vessel, vessel_root, tmp_path):
    # The guest finds /dev/vda (virtio-blk behind virtio-mmio, declared in the DSDT), reads the
    # host's bytes and writes its own, which the host then reads back from the file.
    _needs_hardware_virt()
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"vessel-disk-0001".ljust(512, b"\0") + bytes(1 << 20))
    r = _default_vm(vessel, vessel_root, "--disk", str(disk), "--", "sh", "-c",
                    "head -c 16 /dev/vda; echo; echo from-guest | dd of=/dev/vda bs=512 seek=1"
                    " conv=sync,fsync 2>/dev/null")
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    assert "vessel-disk-0001" in r.stdout
    assert disk.read_bytes()[512:523] == b"from-guest\n"


def test_default_vm_disk_readonly(vessel, vessel_root, tmp_path):
    _needs_hardware_virt()
    disk = tmp_path / "ro.img"
    disk.write_bytes(bytes(1 << 20))
    r = _default_vm(vessel, vessel_root, "--disk", f"{disk},ro", "--", "sh", "-c",
                    "echo x | dd of=/dev/vda conv=fsync 2>/dev/null")
    assert r.returncode != 0, r.stdout[-2000:]
    assert disk.read_bytes() == bytes(1 << 20)


def test_default_vm_pings_through_a_tap(vessel, vessel_root):
    # Everything network lives in a namespace this test creates: the tap, its address, the
    # guest's traffic; the host's namespace is never touched.
    _needs_hardware_virt()
    if not shutil.which("ip"):
        pytest.skip("needs ip(8)")
    ns = f"vessel-vmnet-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        inside = ["ip", "netns", "exec", ns]
        for cmd in (["ip", "tuntap", "add", "vtap0", "mode", "tap"],
                    ["ip", "addr", "add", "192.168.77.1/24", "dev", "vtap0"],
                    ["ip", "link", "set", "vtap0", "up"]):
            subprocess.run(inside + cmd, check=True)
        env = dict(os.environ, VESSEL_ROOT=str(vessel_root))
        r = subprocess.run(
            inside + [vessel, "vm", "run", "--net", "tap=vtap0", "--", "sh", "-c",
                      "ip link set eth0 up && ip addr add 192.168.77.2/24 dev eth0 && "
                      "ping -c 1 -W 10 192.168.77.1"],
            env=env, capture_output=True, text=True, errors="replace", timeout=300)
        assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
        assert "1 packets received" in r.stdout
    finally:
        subprocess.run(["ip", "netns", "delete", ns])


def test_default_vm_vsock_echo(vessel, vessel_root, tmp_path):
    # The host connects to the monitor's Unix socket and asks for guest port 1234, where the
    # init's vsock-echo answers.
    _needs_hardware_virt()
    sock = tmp_path / "vsock.sock"
    env = dict(os.environ, VESSEL_ROOT=str(vessel_root))
    vm = subprocess.Popen([vessel, "vm", "run", "--vsock", f"3,{sock}", "--", "/init",
                           "vsock-echo", "1234"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        deadline, reply = time.monotonic() + 240, ""
        while time.monotonic() < deadline and not reply.startswith("OK"):
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(10)
                    s.connect(str(sock))
                    s.sendall(b"CONNECT 1234\n")
                    reply = s.recv(64).decode()
                    if reply.startswith("OK"):
                        s.sendall(b"ping over vsock\n")
                        assert s.recv(64) == b"ping over vsock\n"
            except (OSError, socket.timeout):
                pass
            time.sleep(0.5)
        assert reply.startswith("OK"), reply
        assert vm.wait(timeout=60) == 0, vm.stderr.read()[-2000:]
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()


def test_default_vm_starts_here(vessel, vessel_root, tmp_path):
    """Under kvm_pvm the default VM gets as far as the kernel's banner: the default kernel
    and the cached initramfs are found, --cmdline replaces the default command line (whose
    "quiet" would hide the banner), the command's archive is accepted, and --console FILE
    gets the guest's serial output."""
    if _hardware_virt():
        pytest.skip("covered by the full-boot tests on this CPU")
    console = tmp_path / "console.log"
    r = _default_vm(vessel, vessel_root, "--timeout", "20s", "--memory", "512m",
                    "--cmdline", CMDLINE, "--console", str(console), "--", "true", timeout=120)
    out = console.read_text(errors="replace")
    assert "Linux version" in out, (r.returncode, out[-2000:], r.stderr[-2000:])
    assert f"Command line: {CMDLINE}" in out
    assert r.stdout == ""
    assert r.returncode in (0, 1), r.stderr[-2000:]
    cached = list((vessel_root / "kernel").glob("initramfs-*.cpio"))
    assert len(cached) == 1, cached
    assert cached[0].read_bytes()[:6] == b"070701"


def _one_line_error(r, *needles):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("vessel: vm: "), err
    for n in needles:
        assert n in err, err


def test_cli_errors(vessel, tmp_path):
    run = lambda *a: subprocess.run([vessel, "vm", "run", *a], capture_output=True, text=True,
                                    timeout=30)
    _one_line_error(run("--kernel", str(tmp_path / "missing")), str(tmp_path / "missing"))
    _one_line_error(run("--memory", "0"), "--memory 0")
    _one_line_error(run("--cpus", "999"), "--cpus 999")
    _one_line_error(run("--timeout", "soon"), "--timeout soon")
    _one_line_error(run("--timeout", "0s"), "--timeout 0s")
    # 3h is a duration for a VM as for a container: the error is the kernel's, not --timeout's.
    _one_line_error(run("--timeout", "3h", "--kernel", str(tmp_path / "k")), str(tmp_path / "k"))
    _one_line_error(run("echo", "hi"), "unexpected argument echo", "--")
    kernel = tmp_path / "kernel"
    kernel.write_bytes(b"\x7fELF")
    _one_line_error(run("--kernel", str(kernel), "--", "true"), "needs an initramfs")
    _one_line_error(run("--kernel", str(kernel), "--initrd", str(tmp_path / "no"), "--", "true"),
                    str(tmp_path / "no"))


# vessel-init on the host: PID 1 of a PID namespace, in a chroot of busybox and the init.

def _init_reason():
    if os.geteuid() != 0:
        return "needs root (PID, mount and UTS namespaces)"
    if not INIT.exists():
        return f"{INIT} is missing (run `make`)"
    if not BUSYBOX.exists():
        return f"{BUSYBOX} is missing (Debian package busybox-static)"
    for tool in ("unshare", "setpriv", "chroot"):
        if not shutil.which(tool):
            return f"{tool} is missing (util-linux, coreutils)"
    return None


@pytest.fixture
def init_root(tmp_path):
    if _init_reason():
        pytest.skip(_init_reason())
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "vessel").mkdir()
    shutil.copy(INIT, root / "init")
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    for applet in ("sh", "hostname", "sleep", "cat", "poweroff"):
        (root / "bin" / applet).symlink_to("busybox")
    return root


def _init_cmd(root):
    return ["unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--propagation", "private",
            "setpriv", "--bounding-set", "-sys_rawio,-sys_module", "chroot", str(root), "/init"]


def _run_init(root, *argv, stdin="", timeout=30):
    if argv:
        (root / "vessel" / "cmd").write_bytes(b"".join(a.encode() + b"\0" for a in argv))
    r = subprocess.run(_init_cmd(root), input=stdin, capture_output=True, text=True,
                       timeout=timeout)
    m = re.search(r"vessel-init: exit status (\d+): port 0x501", r.stderr)
    assert m, (r.returncode, r.stdout, r.stderr)
    return int(m.group(1)), r


def _init_pid(outer):
    """PID 1 of the namespace, as the host sees it: unshare's child."""
    for _ in range(200):
        try:
            kids = Path(f"/proc/{outer.pid}/task/{outer.pid}/children").read_text().split()
        except OSError:
            kids = []
        if kids:
            return int(kids[0])
        time.sleep(0.02)
    raise AssertionError("unshare started no child")


def test_init_runs_the_command(init_root):
    status, r = _run_init(init_root, "sh", "-c",
                          "echo MARK $(hostname); grep -c ' /proc proc' /proc/mounts; "
                          "test -d /tmp && test -c /dev/null && exit 7")
    assert status == 7, r.stderr
    assert r.stdout.splitlines() == ["MARK vessel", "1"], r.stdout


def test_init_reports_signals_and_missing_commands(init_root):
    status, _ = _run_init(init_root, "sh", "-c", "kill -9 $$")
    assert status == 128 + 9
    status, r = _run_init(init_root, "no-such-command")
    assert status == 127
    assert "vessel-init: no-such-command: No such file or directory" in r.stderr


def test_init_shell_and_modules(init_root):
    """No /vessel/cmd: /bin/sh on the console, status 0 however it exits. A module that cannot
    be loaded is a warning, not fatal."""
    (init_root / "vessel" / "modules").write_text("/lib/modules/x/missing.ko\n")
    status, r = _run_init(init_root, stdin="echo MARK from sh; exit 3\n")
    assert status == 0
    assert "MARK from sh" in r.stdout
    assert "vessel-init: module /lib/modules/x/missing.ko: No such file or directory" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGUSR2])
def test_init_stop_signal_terminates_the_command(init_root, sig):
    """Ctrl-Alt-Del (SIGINT), SIGTERM and busybox's poweroff (SIGUSR2) stop the command with
    SIGTERM: its status is reported."""
    (init_root / "vessel" / "cmd").write_bytes(b"sh\0-c\0echo up; exec sleep 100\0")
    p = subprocess.Popen(_init_cmd(init_root), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        assert p.stdout.readline() == "up\n"
        os.kill(_init_pid(p), sig)
        out, err = p.communicate(timeout=10)
        assert "vessel-init: exit status 143: port 0x501" in err, err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_init_kills_a_command_that_ignores_sigterm(init_root):
    """After the 5 s grace period SIGKILL; the status is then 143, as if SIGTERM had worked."""
    (init_root / "vessel" / "cmd").write_bytes(
        b"sh\0-c\0trap '' TERM; echo up; while :; do sleep 1; done\0")
    p = subprocess.Popen(_init_cmd(init_root), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        assert p.stdout.readline() == "up\n"
        t0 = time.monotonic()
        os.kill(_init_pid(p), signal.SIGTERM)
        out, err = p.communicate(timeout=15)
        assert time.monotonic() - t0 >= 4
        assert "vessel-init: exit status 143: port 0x501" in err, err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
