"""`vessel vm run`: the micro-VM monitor on KVM, driven with the project's own test guests.

The guests (tests/guest/, built by tests/guest/build.sh) print on COM1 by polling LSR, read
back their boot parameters (PVH hvm_start_info, or Linux boot_params for the bzImage-shaped
one) and end the VM as their command line says: exit=N writes N to the debug-exit port 0x501,
reset pulses the i8042 reset line, triple triple-faults, int3 runs int3 with an empty IDT,
hang halts forever. Each boot takes milliseconds, even where kernel mode is emulated.

Skipped with the reason when /dev/kvm is missing or not usable.
"""

import os
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("VESSEL_BUILD") or REPO / "build").resolve()
VESSEL = BUILD / "vessel"
GUEST_BUILD = REPO / "tests" / "guest" / "build.sh"
KVM = Path("/dev/kvm")

HELLO = "hello from the guest"
PVH_MAGIC = "magic: 0x336ec578"


def _kvm_reason():
    if not KVM.exists():
        return "/dev/kvm is missing (no KVM on this machine)"
    if not os.access(KVM, os.R_OK | os.W_OK):
        return "/dev/kvm is not accessible to this user"
    return None


pytestmark = pytest.mark.skipif(_kvm_reason() is not None, reason=_kvm_reason() or "")


@pytest.fixture(scope="session")
def vessel():
    if not os.access(VESSEL, os.X_OK):
        pytest.fail(f"{VESSEL} is missing (run `make`)", pytrace=False)
    probe = subprocess.run([str(VESSEL), "vm", "--help"], capture_output=True, text=True)
    if "vessel vm run" not in probe.stdout:
        pytest.skip("`vessel vm` is not wired into src/cli/cli.c in this build")
    return str(VESSEL)


@pytest.fixture(scope="session")
def guests(tmp_path_factory):
    """Directory holding pvh.elf, bzimage and emul.elf: $VESSEL_GUESTS, BUILD/guest, or built
    here."""
    for d in (os.environ.get("VESSEL_GUESTS"), BUILD / "guest"):
        if d and all((Path(d) / g).exists() for g in ("pvh.elf", "bzimage", "emul.elf", "smp.elf")):
            return Path(d)
    out = tmp_path_factory.mktemp("guest")
    r = subprocess.run(["sh", str(GUEST_BUILD), str(out)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"building the test guests failed:\n{r.stderr}", pytrace=False)
    return out


def vm_run(vessel, *args, timeout=30):
    return subprocess.run(
        [vessel, "vm", "run", "--timeout", "20s", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


GUESTS = ["pvh.elf", "bzimage"]


def test_pvh_boot_reads_back_start_info(vessel, guests):
    r = vm_run(vessel, "--kernel", str(guests / "pvh.elf"), "--cmdline", "exit=7 marker=pvh-42")
    assert r.returncode == 7, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == HELLO
    assert "boot: pvh" in lines
    assert PVH_MAGIC in lines
    assert "cmdline: exit=7 marker=pvh-42" in lines
    assert "memmap entries: 3" in lines
    assert "modules: 0" in lines
    assert r.stderr == ""


def test_bzimage_boot_reads_back_boot_params(vessel, guests):
    r = vm_run(vessel, "--kernel", str(guests / "bzimage"), "--cmdline", "exit=9 marker=bz-17")
    assert r.returncode == 9, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == HELLO
    assert "boot: linux64" in lines
    assert "header: HdrS" in lines
    assert "loader: 0xff" in lines
    assert "cmdline: exit=9 marker=bz-17" in lines
    assert "e820 entries: 3" in lines


@pytest.mark.parametrize("guest", GUESTS)
@pytest.mark.parametrize("status", [0, 1, 42, 255])
def test_debug_exit_status(vessel, guests, guest, status):
    r = vm_run(vessel, "--kernel", str(guests / guest), "--cmdline", f"exit={status}")
    assert r.returncode == status, r.stderr
    assert HELLO in r.stdout


@pytest.mark.parametrize("guest", GUESTS)
def test_i8042_reset_ends_with_0(vessel, guests, guest):
    # exit=3 comes after the reset in the guest: status 0 proves the reset ended the VM.
    r = vm_run(vessel, "--kernel", str(guests / guest), "--cmdline", "reset exit=3")
    assert r.returncode == 0, r.stderr
    assert HELLO in r.stdout


@pytest.mark.parametrize("guest", GUESTS)
def test_initrd_passed(vessel, guests, guest, tmp_path):
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"x" * 5000)
    r = vm_run(vessel, "--kernel", str(guests / guest), "--initrd", str(initrd))
    assert r.returncode == 0, r.stderr
    if guest == "pvh.elf":
        assert "modules: 1" in r.stdout.splitlines()
    else:
        assert "initrd size: 5000" in r.stdout.splitlines()


@pytest.mark.parametrize("guest", GUESTS)
def test_several_vcpus_and_memory_sizes(vessel, guests, guest):
    # The application processors wait for INIT/SIPI in the in-kernel irqchip; 5g puts RAM on
    # both sides of the 32-bit hole (memory is reserved lazily).
    for args in (["--cpus", "2"], ["--cpus", "4", "--memory", "5g"], ["--memory", "4m"]):
        r = vm_run(vessel, "--kernel", str(guests / guest), "--cmdline", "exit=5", *args)
        assert r.returncode == 5, (args, r.stderr)


def _free_huge_mib():
    with open("/proc/meminfo", encoding="utf-8") as f:
        info = dict(l.split(":", 1) for l in f)
    pages = int(info.get("HugePages_Free", "0").split()[0])
    size_kib = int(info.get("Hugepagesize", "0 kB").split()[0])
    return pages * size_kib // 1024 if size_kib == 2048 else 0


def test_hugepages(vessel, guests):
    # Guest RAM from the hugetlb pool, reserved when the VM is built: an empty pool is a clear
    # error before the guest runs, never a SIGBUS later. The pool is the host's: never resized.
    args = ["--kernel", str(guests / "pvh.elf"), "--cmdline", "exit=4", "--hugepages",
            "--memory", "64m"]
    r = vm_run(vessel, *args)
    if _free_huge_mib() >= 64:
        assert r.returncode == 4, r.stderr
    else:
        _one_line_error(r, "--hugepages", "64 MiB")


def test_timer_interrupts_delivered(vessel, guests):
    # The in-kernel PIT ticks through the in-kernel 8259 into the guest's IDT.
    r = vm_run(vessel, "--kernel", str(guests / "smp.elf"), "--cmdline", "timer exit=0")
    assert r.returncode == 0, r.stderr
    assert "timer: 3 ticks" in r.stdout, r.stdout


@pytest.mark.parametrize("cpus", [2, 3])
def test_application_processors_start(vessel, guests, cpus):
    # INIT-SIPI-SIPI by physical APIC id; each AP climbs from real mode to long mode.
    r = vm_run(
        vessel, "--kernel", str(guests / "smp.elf"), "--cpus", str(cpus),
        "--cmdline", f"smp cpus={cpus} exit=0",
    )
    assert r.returncode == 0, r.stderr
    assert f"cpus up: {cpus}" in r.stdout, r.stdout


def test_console_file_and_none(vessel, guests, tmp_path):
    out = tmp_path / "console.log"
    r = vm_run(vessel, "--kernel", str(guests / "pvh.elf"), "--console", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert out.read_text().startswith(HELLO + "\n")
    r = vm_run(vessel, "--kernel", str(guests / "pvh.elf"), "--console", "none")
    assert r.returncode == 0 and r.stdout == ""


def test_triple_fault_reported_with_registers(vessel, guests):
    r = vm_run(vessel, "--kernel", str(guests / "pvh.elf"), "--cmdline", "triple")
    assert r.returncode == 1
    err = r.stderr.strip()
    assert err.startswith("vessel: vm: vcpu 0: triple fault"), err
    assert "rip=0x" in err and "cr3=0x" in err
    assert len(err.splitlines()) == 1


def test_int3_in_kernel_mode(vessel, guests):
    # kvm_pvm cannot emulate int3 in guest kernel mode (KVM_EXIT_INTERNAL_ERROR): the monitor
    # injects #BP, and the empty IDT makes it a triple fault, as with VT-x or AMD-V.
    # Either way: status 1, cause and registers.
    r = vm_run(vessel, "--kernel", str(guests / "pvh.elf"), "--cmdline", "int3")
    assert r.returncode == 1
    err = r.stderr.strip()
    assert err.startswith("vessel: vm: vcpu 0: "), err
    assert "KVM internal error" in err or "triple fault" in err
    if "KVM internal error" in err:
        assert "instruction bytes cc" in err or "data" in err
    assert "rip=0x" in err


def test_trap_and_cmpxchg16b_in_kernel_mode(vessel, guests):
    # int3 with a #BP handler, int $0x40 and lock cmpxchg16b, in guest kernel mode: under
    # kvm_pvm KVM gives up on each and the monitor emulates it (vmm/x86/emulate.c); with VT-x
    # or AMD-V the CPU runs them. The output is the same.
    r = vm_run(vessel, "--kernel", str(guests / "emul.elf"), "--cmdline", "exit=4")
    assert r.returncode == 4, r.stderr
    lines = r.stdout.splitlines()
    assert "boot: emul" in lines
    assert "int3: handled 1, return rip ok" in lines
    assert "int 0x40: handled 1, return rip ok" in lines
    assert "cmpxchg16b equal: zf=1 mem=0x3333:0x4444" in lines
    assert "cmpxchg16b differ: zf=0 rdx:rax=0x3333:0x4444 mem=0x3333" in lines
    assert r.stderr == ""


def test_xsave_xrstor_and_mxcsr_in_kernel_mode(vessel, guests):
    # XSAVE enabled by the guest itself (CR4.OSXSAVE, xsetbv), then ldmxcsr, xsave64, xrstor64
    # of a clobbered state, xsaveopt64, stmxcsr and an xrstor64 that initializes SSE, in guest
    # kernel mode: under kvm_pvm the monitor emulates them on KVM's XSAVE image
    # (vmm/x86/emulate-fpu.c, xsave.c); with VT-x or AMD-V the CPU runs them. Same output.
    r = vm_run(vessel, "--debug", "--kernel", str(guests / "emul.elf"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "xsave: sse in use=0x1 xmm0=0x1122334455667788 mxcsr=0x1fa0" in lines
    assert ("xrstor: xmm0=0x1122334455667788:0x99aabbccddeeff00 xmm1=0x123456789abcdef "
            "mxcsr=0x1fa0") in lines
    assert "xsaveopt: xmm1=0x123456789abcdef" in lines
    assert "xrstor init: xmm0=0x0" in lines
    if "emulated" in r.stderr:
        for what in ("xsave", "xrstor", "xsaveopt", "ldmxcsr", "stmxcsr"):
            assert f"emulated {what} at rip 0x" in r.stderr


def test_emulated_instructions_logged_with_debug(vessel, guests):
    r = vm_run(vessel, "--debug", "--kernel", str(guests / "emul.elf"))
    assert r.returncode == 0, r.stderr
    if "emulated" not in r.stderr:
        pytest.skip("the accelerator ran these instructions itself (VT-x/AMD-V)")
    assert "emulated int3 at rip 0x" in r.stderr
    assert "injected exception 3" in r.stderr
    assert "injected software interrupt 64" in r.stderr
    assert r.stderr.count("emulated cmpxchg16b") == 2


def test_timeout(vessel, guests):
    r = subprocess.run(
        [vessel, "vm", "run", "--kernel", str(guests / "pvh.elf"), "--cmdline", "hang",
         "--timeout", "300ms"],
        capture_output=True, text=True, timeout=30,
    )
    assert r.returncode == 1
    assert "timed out after 300 ms" in r.stderr
    assert HELLO in r.stdout


def _one_line_error(r, *needles):
    assert r.returncode == 1, r
    assert r.stdout == ""
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("vessel: vm: "), err
    for n in needles:
        assert n in err, err


def test_bad_kernel_files(vessel, guests, tmp_path):
    missing = tmp_path / "nope"
    _one_line_error(vm_run(vessel, "--kernel", str(missing)), str(missing), "No such file")
    text = tmp_path / "text"
    text.write_text("not a kernel\n")
    _one_line_error(vm_run(vessel, "--kernel", str(text)), str(text), "not a kernel")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    _one_line_error(vm_run(vessel, "--kernel", str(empty)), str(empty), "empty")
    data = (guests / "bzimage").read_bytes()
    for cut in (700, len(data) - 64):
        trunc = tmp_path / f"bz-{cut}"
        trunc.write_bytes(data[:cut])
        _one_line_error(vm_run(vessel, "--kernel", str(trunc)), str(trunc), "truncated")
    old = bytearray(data)
    old[0x206:0x208] = (0x020B).to_bytes(2, "little")
    oldf = tmp_path / "bz-old"
    oldf.write_bytes(bytes(old))
    _one_line_error(vm_run(vessel, "--kernel", str(oldf)), str(oldf), "2.11")
    elf = (guests / "pvh.elf").read_bytes()
    trunc = tmp_path / "elf-trunc"
    trunc.write_bytes(elf[:200])
    _one_line_error(vm_run(vessel, "--kernel", str(trunc)), str(trunc), "truncated")
    _one_line_error(vm_run(vessel, "--kernel", str(guests / "pvh.elf"), "--initrd",
                           str(missing)), "initrd", str(missing))


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--memory", "0"], "--memory 0"),
        (["--memory", "100t"], "--memory"),
        (["--memory", "12q"], "--memory 12q"),
        (["--cpus", "0"], "--cpus 0"),
        (["--cpus", "999"], "--cpus 999"),
        (["--cpus", "two"], "--cpus two"),
        (["--timeout", "soon"], "--timeout soon"),
        (["--disk", "x.img"], "--disk"),
        (["--net", "bogus"], "--net bogus"),
        (["--bogus"], "--bogus"),
    ],
)
def test_bad_options(vessel, guests, args, needle):
    _one_line_error(vm_run(vessel, "--kernel", str(guests / "pvh.elf"), *args), needle)


def test_cmdline_longer_than_cmdline_size(vessel, guests):
    # The test bzImage's setup header says cmdline_size = 255.
    ok = vm_run(vessel, "--kernel", str(guests / "bzimage"), "--cmdline", "x" * 255)
    assert ok.returncode == 0, ok.stderr
    r = vm_run(vessel, "--kernel", str(guests / "bzimage"), "--cmdline", "x" * 256)
    _one_line_error(r, "--cmdline", "256 bytes", "255")


def test_vm_ps_and_stop(vessel, guests, tmp_path):
    """A running VM is listed by `vm ps`, keeps its name, and `vm stop` ends it: this guest has
    no keyboard driver and ignores Ctrl-Alt-Del, so stop kills it after the grace period."""
    state = str(tmp_path / "state")
    base = [vessel, "--state", state, "vm"]
    vm = subprocess.Popen([*base, "run", "--kernel", str(guests / "pvh.elf"), "--cmdline",
                           "hang", "--name", "g1", "--console", "none"])
    try:
        for _ in range(100):
            ps = subprocess.run([*base, "ps"], capture_output=True, text=True).stdout
            if "g1" in ps:
                break
            time.sleep(0.05)
        assert "g1" in ps and str(vm.pid) in ps, ps
        dup = subprocess.run([*base, "run", "--kernel", str(guests / "pvh.elf"), "--name",
                              "g1", "--console", "none"], capture_output=True, text=True)
        assert dup.returncode == 1 and "already in use" in dup.stderr
        assert subprocess.run([*base, "stop", "-t", "1", "g1"]).returncode == 0
        assert vm.wait(timeout=10) == -9  # SIGKILL
        assert "g1" not in subprocess.run([*base, "ps"], capture_output=True, text=True).stdout
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()


def test_vm_stop_presses_ctrl_alt_del(vessel, guests, tmp_path):
    """`vm stop` presses Ctrl-Alt-Del on the i8042 keyboard: a guest that brought the keyboard up
    as Linux's i8042 and atkbd drivers do (kbd.elf) reads the keys and exits with 42 at once,
    long before the grace period."""
    kbd = guests / "kbd.elf"
    if not kbd.exists():
        out = tmp_path / "guest"
        r = subprocess.run(["sh", str(GUEST_BUILD), str(out)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        kbd = out / "kbd.elf"
    base = [vessel, "--state", str(tmp_path / "state"), "vm"]
    vm = subprocess.Popen([*base, "run", "--kernel", str(kbd), "--name", "kb", "--timeout", "60s"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        line = vm.stdout.readline()
        assert line == "kbd ready\n", line + vm.stderr.read()
        t0 = time.monotonic()
        stop = subprocess.run([*base, "stop", "-t", "30", "kb"], capture_output=True, text=True)
        elapsed = time.monotonic() - t0
        assert stop.returncode == 0, stop.stderr
        out, err = vm.communicate(timeout=30)
        assert vm.returncode == 42, out + err
        assert "kbd: Ctrl-Alt-Del" in out
        assert elapsed < 5, f"vm stop took {elapsed:.1f} s (grace period 30 s)"
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()


def test_console_ctrl_a_x_quits(vessel, guests, tmp_path):
    """On a terminal the console is raw and Ctrl-A x ends the VM with status 0, as in QEMU."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:
        os.execv(vessel, [vessel, "--state", str(tmp_path), "vm", "run", "--kernel",
                          str(guests / "pvh.elf"), "--cmdline", "hang", "--timeout", "20s"])
    out = b""
    while b"hello from the guest" not in out:
        out += os.read(fd, 4096)
    os.write(fd, b"\x01x")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
