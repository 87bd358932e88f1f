"""`vessel vm run` with virtio-mmio devices, driven by the project's virtio test guest.

tests/guest/vio.c (vio.elf, PVH entry) lists the virtio-mmio slots ("virtio: SLOT:ID ..."),
runs the tests its command line names with a tiny polled driver (tests/guest/virtio.c) and
ends through the debug-exit port: rng reads 64 bytes from virtio-rng, blk reads sector 0 of
the first disk and writes sector 1, net sends one frame on the tap, vsock=PORT connects to
a host port and sends a line, console writes on hvc0, irq halts until virtio-rng's interrupt arrives through the IOAPIC. Every VM gets a virtio-rng in slot 0; disks, the network device,
vsock and (unless --console none) the console port follow in that order. Queue kicks reach the devices through ioeventfds on the I/O
thread and interrupts go out through irqfds where KVM has them (kvm_pvm does).

Skipped with the reason when /dev/kvm is missing or not usable; the network test needs
unshare(1) and ip(8) (its tap lives in a private network namespace).
"""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from test_vm import _kvm_reason  # one definition of "KVM is usable"

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("VESSEL_BUILD") or REPO / "build").resolve()
VESSEL = BUILD / "vessel"
GUEST_BUILD = REPO / "tests" / "guest" / "build.sh"

RNG_ID, BLK_ID, NET_ID, CONSOLE_ID, VSOCK_ID = 4, 2, 1, 3, 19


pytestmark = pytest.mark.skipif(_kvm_reason() is not None, reason=_kvm_reason() or "")


@pytest.fixture(scope="session")
def vessel():
    if not os.access(VESSEL, os.X_OK):
        pytest.fail(f"{VESSEL} is missing (run `make`)", pytrace=False)
    probe = subprocess.run([str(VESSEL), "vm", "--help"], capture_output=True, text=True)
    if "--disk" not in probe.stdout:
        pytest.skip("`vessel vm run` has no virtio options in this build")
    return str(VESSEL)


@pytest.fixture(scope="session")
def vio(tmp_path_factory):
    """Path of vio.elf: from $VESSEL_GUESTS, BUILD/guest, or built here."""
    for d in (os.environ.get("VESSEL_GUESTS"), BUILD / "guest"):
        if d and (Path(d) / "vio.elf").exists():
            return str(Path(d) / "vio.elf")
    out = tmp_path_factory.mktemp("guest")
    r = subprocess.run(["sh", str(GUEST_BUILD), str(out)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"building the test guests failed:\n{r.stderr}", pytrace=False)
    return str(out / "vio.elf")


def vm_run(vessel, *args, state=None, timeout=30):
    pre = [vessel] + (["--state", str(state)] if state else [])
    return subprocess.run(
        [*pre, "vm", "run", "--timeout", "20s", *args],
        capture_output=True, text=True, timeout=timeout,
    )


def slots(stdout):
    """{slot: device id} from the guest's "virtio: 0:4 1:2" line."""
    line = next(l for l in stdout.splitlines() if l.startswith("virtio:"))
    return {int(s): int(i) for s, i in (p.split(":") for p in line.split()[1:])}


def field(stdout, prefix):
    return next(l[len(prefix):] for l in stdout.splitlines() if l.startswith(prefix))


def disk(path, sector0=b"VESSEL-DISK-0123", size=1 << 20):
    path.write_bytes(sector0 + bytes(size - len(sector0)))
    return path


PATTERN = bytes((i ^ 0x5A) & 0xFF for i in range(512))


def test_rng_always_attached_and_random(vessel, vio):
    outs = []
    for _ in range(2):
        r = vm_run(vessel, "--kernel", vio, "--cmdline", "rng")
        assert r.returncode == 0, r.stdout + r.stderr
        assert slots(r.stdout) == {0: RNG_ID, 1: CONSOLE_ID}
        data = bytes.fromhex(field(r.stdout, "rng: "))
        assert len(data) == 64 and data != bytes(64)
        outs.append(data)
    assert outs[0] != outs[1]


def test_console_port_writes_with_the_uart(vessel, vio, tmp_path):
    # hvc0 goes where the UART goes; with --console none there is no second port either.
    r = vm_run(vessel, "--kernel", vio, "--cmdline", "console")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "hello from hvc0\n" in r.stdout
    log = tmp_path / "console.log"
    r = vm_run(vessel, "--kernel", vio, "--cmdline", "console", "--console", str(log))
    assert r.returncode == 0, r.stderr
    assert "hello from hvc0\n" in log.read_text() and "boot: vio" in log.read_text()
    r = vm_run(vessel, "--kernel", vio, "--cmdline", "rng", "--console", "none")
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


def test_used_buffer_interrupts_the_guest(vessel, vio):
    # The guest routes slot 0's GSI through the IOAPIC to a handler and halts: only the
    # device's edge (irqfd, or a KVM_IRQ_LINE pulse without one) wakes it.
    r = vm_run(vessel, "--kernel", vio, "--cmdline", "irq", "--timeout", "10s")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "irq: count 1 status 1" in r.stdout.splitlines()


def test_guest_status_passes_through(vessel, vio):
    r = vm_run(vessel, "--kernel", vio, "--cmdline", "rng exit=9", "--no-seccomp")
    assert r.returncode == 9, r.stderr


def test_blk_read_write_flush(vessel, vio, tmp_path):
    img = disk(tmp_path / "d.img")
    r = vm_run(vessel, "--kernel", vio, "--cmdline", "blk", "--disk", str(img))
    assert r.returncode == 0, r.stdout + r.stderr
    assert slots(r.stdout) == {0: RNG_ID, 1: BLK_ID, 2: CONSOLE_ID}
    assert field(r.stdout, "blk: capacity ") == str((1 << 20) // 512)
    assert field(r.stdout, "blk: sector0: ") == b"VESSEL-DISK-0123".hex()
    assert "blk: write status 0 flush status 0" in r.stdout
    data = img.read_bytes()
    assert data[512:1024] == PATTERN
    assert data[1024:] == bytes(len(data) - 1024)


def test_blk_readonly_refuses_writes(vessel, vio, tmp_path):
    img = disk(tmp_path / "ro.img")
    before = img.read_bytes()
    r = vm_run(vessel, "--kernel", vio, "--cmdline", "blk", "--disk", f"{img},ro")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "blk: write status 1 flush status 0" in r.stdout  # VIRTIO_BLK_S_IOERR
    assert img.read_bytes() == before


def test_disks_take_slots_in_order(vessel, vio, tmp_path):
    a = disk(tmp_path / "a.img", b"first-disk-bytes")
    b = disk(tmp_path / "b.img", b"other-disk-bytes")
    r = vm_run(vessel, "--kernel", vio, "--cmdline", "blk", "--disk", str(a), "--disk", str(b))
    assert r.returncode == 0, r.stdout + r.stderr
    assert slots(r.stdout) == {0: RNG_ID, 1: BLK_ID, 2: BLK_ID, 3: CONSOLE_ID}
    assert field(r.stdout, "blk: sector0: ") == b"first-disk-bytes".hex()
    assert a.read_bytes()[512:1024] == PATTERN and b.read_bytes()[512:1024] == bytes(512)


NET_SCRIPT = r"""
import socket, subprocess, sys
vessel, vio = sys.argv[1:3]
subprocess.run(["ip", "tuntap", "add", "dev", "vt0", "mode", "tap"], check=True)
subprocess.run(["ip", "link", "set", "vt0", "up"], check=True)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
s.bind(("vt0", 0))
s.settimeout(10)
r = subprocess.run([vessel, "vm", "run", "--timeout", "20s", "--kernel", vio, "--cmdline", "net",
                    "--net", "tap=vt0"], capture_output=True, text=True)
print(r.returncode)
print(r.stdout + r.stderr)
print("frame", s.recv(2048).hex())
"""


def test_net_frame_reaches_the_tap(vessel, vio):
    if not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("needs unshare(1) and ip(8)")
    r = subprocess.run(["unshare", "-n", sys.executable, "-c", NET_SCRIPT, vessel, vio],
                       capture_output=True, text=True, timeout=60)
    if "Operation not permitted" in r.stderr:
        pytest.skip(f"cannot create a network namespace or tap here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0", r.stdout
    assert "virtio: 0:4 1:1" in r.stdout and "net: sent 60" in r.stdout
    frame = bytes.fromhex(field(r.stdout, "frame "))
    assert frame[:6] == b"\xff" * 6 and frame[12:14] == b"\x88\xb5"
    assert frame[14:24] == b"vessel vio"


def test_vsock_guest_connects_to_host(vessel, vio, tmp_path):
    path = tmp_path / "v.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(f"{path}_5000")
    listener.listen(1)
    listener.settimeout(20)
    vm = subprocess.Popen([vessel, "vm", "run", "--timeout", "20s", "--kernel", vio, "--cmdline",
                           "vsock=5000", "--vsock", f"7,{path}"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        conn, _ = listener.accept()
        conn.settimeout(20)
        got = b""
        while not got.endswith(b"\n"):
            chunk = conn.recv(100)
            if not chunk:
                break
            got += chunk
        out, err = vm.communicate(timeout=30)
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()
        listener.close()
    assert got == b"hello from vio\n"
    assert vm.returncode == 0, out + err
    assert slots(out) == {0: RNG_ID, 1: VSOCK_ID, 2: CONSOLE_ID}
    assert "vsock: cid 7 sent" in out
    assert not path.exists()  # the device removes its socket


def _bad_cases(tmp):
    (tmp / "dir").mkdir()
    (tmp / "odd.img").write_bytes(b"x" * 1000)
    return [
        (["--disk", str(tmp / "missing.img")], ["--disk", "missing.img", "No such file"]),
        (["--disk", str(tmp / "dir")], ["--disk", "Is a directory"]),
        (["--disk", str(tmp / "odd.img")], ["--disk", "odd.img", "512"]),
        (["--net", "tap=doesnotexist"], ["--net tap=doesnotexist"]),
        (["--net", "bridge=br0"], ["--net bridge=br0"]),
        (["--vsock", f"2,{tmp}/v.sock"], ["--vsock 2,", "CID"]),
        (["--vsock", f"4294967295,{tmp}/v.sock"], ["--vsock 4294967295,", "CID"]),
        (["--vsock", "bad"], ["--vsock bad"]),
        (["--vsock", f"3,{tmp}/no/such/dir/v.sock"], ["--vsock 3,", "No such file"]),
    ]


def test_bad_device_options(vessel, vio, tmp_path):
    """Each is one line naming the flag and value, status 1, and leaves nothing behind."""
    state = tmp_path / "state"
    for args, needles in _bad_cases(tmp_path):
        r = vm_run(vessel, "--kernel", vio, *args, state=state)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert r.stdout == ""
        err = r.stderr.strip()
        assert len(err.splitlines()) == 1 and err.startswith("vessel: vm: "), (args, err)
        for n in needles:
            assert n in err, (args, err)
        left = list(state.rglob("*")) if state.exists() else []
        assert not left, (args, left)
        assert not list(tmp_path.glob("*.sock*")), args
