"""vessel-runc is its own lean binary (src/runc-main.c): it links only what the runtime needs, so
no runtime call (nor a created container's init, which runs the runtime's code until `start`)
loads the engine's libraries. `vessel oci` in the big binary stays the same runc surface.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, RUNTIME, new_id

pytestmark = pytest.mark.vessel_only

# What only the engine (pull, images) needs.
ENGINE_LIBS = ("libcurl", "libarchive", "libcrypto", "libgnutls", "libxml2", "libicu")


def _ok(res):
    assert res.returncode == 0, f"exit {res.returncode}\nstdout: {res.stdout}\nstderr: {res.stderr}"
    return res


def test_runtime_links_no_engine_library(vessel):
    assert not Path(vessel).is_symlink(), f"{vessel} is a symlink, not its own binary"
    ldd = _ok(subprocess.run(["ldd", vessel], capture_output=True, text=True)).stdout
    assert not [lib for lib in ENGINE_LIBS if lib in ldd], ldd
    assert "libseccomp" in ldd or "not a dynamic executable" in ldd, ldd


def test_created_init_maps_no_engine_library(run_rt, bundle):
    """The init `create` leaves waiting for `start` is a fork of the runtime (or of its sealed
    re-exec): it maps the runtime's libraries, and none of the engine's."""
    b = bundle(args=["/probe", "true"])
    cid = new_id()
    _ok(run_rt("create", "--bundle", b.path, cid))
    try:
        pid = json.loads(_ok(run_rt("state", cid)).stdout)["pid"]
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "libc.so" in maps or "vessel" in maps, maps
        assert not [lib for lib in ENGINE_LIBS if lib in maps], maps
    finally:
        run_rt("delete", "--force", cid)


def test_vessel_oci_is_the_same_surface(vessel, runtime_root):
    """`vessel oci` (big binary) and vessel-runc print the same usage and version."""
    big = BUILD / "vessel"
    if RUNTIME != BUILD / "vessel-runc" or not os.access(big, os.X_OK):
        pytest.skip(f"{big} is not beside the runtime under test")
    lean = subprocess.run([vessel, "--version"], capture_output=True, text=True)
    oci = subprocess.run([str(big), "oci", "--version"], capture_output=True, text=True)
    assert lean.returncode == oci.returncode == 0
    assert lean.stdout.replace("vessel-runc", "PROG") == oci.stdout.replace("vessel oci", "PROG")
    res = subprocess.run([str(big), "oci", "--root", str(runtime_root), "state", new_id()],
                         capture_output=True, text=True)
    assert res.returncode == 1 and res.stderr.startswith("vessel oci: "), res.stderr
