"""`vessel images`, `import`, `save`, `rmi`, `inspect`: the image commands on private stores."""

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

import pytest

BUILD = os.environ.get("VESSEL_BUILD") or os.path.join(os.path.dirname(__file__), "../../build")
VESSEL = os.path.join(BUILD, "vessel")
PODMAN = shutil.which("podman")
BUSYBOX = "/bin/busybox"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the engine's integration tests need root"),
    pytest.mark.skipif(not os.path.isfile(BUSYBOX), reason="/bin/busybox missing (busybox-static)"),
]


class Store:
    """`vessel --root R --state S ...` on a store and state of its own."""

    def __init__(self, base):
        self.root, self.state = base / "store", base / "state"

    def __call__(self, *args, timeout=120):
        cmd = [VESSEL, "--root", str(self.root), "--state", str(self.state), *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def ok(self, *args, **kw):
        res = self(*args, **kw)
        assert res.returncode == 0, f"vessel {' '.join(map(str, args))}: {res.stderr}"
        return res

    def images(self):
        return json.loads(self.ok("images", "--format", "json").stdout)

    def blobs(self):
        d = self.root / "blobs" / "sha256"
        return set(os.listdir(d)) if d.exists() else set()

    def layers(self):
        d = self.root / "layers"
        return set(os.listdir(d)) if d.exists() else set()


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "a")
    yield s
    assert str(tmp_path) not in open("/proc/self/mountinfo").read()


@pytest.fixture
def busybox_store(store):
    """A store that holds the embedded busybox, made by running it."""
    store.ok("run", "--rm", "busybox", "true")
    return store


def image(images, repository, tag="latest"):
    found = [i for i in images if (i["repository"], i["tag"]) == (repository, tag)]
    assert len(found) == 1, images
    return found[0]


def test_images_lists_busybox(busybox_store):
    res = busybox_store.ok("images")
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = lines[1].split()
    assert row[:2] == ["busybox", "latest"]
    assert len(row[2]) == 12 and all(c in "0123456789abcdef" for c in row[2])
    assert row[-1].endswith("MB"), row
    assert " ago" in lines[1]
    entry = image(busybox_store.images(), "busybox")
    assert entry["id"].startswith("sha256:" + row[2])
    assert entry["digest"].startswith("sha256:") and len(entry["digest"]) == 71
    assert entry["size"] > 1_000_000
    assert entry["created"].endswith("Z")
    assert busybox_store.ok("images", "-q").stdout == row[2] + "\n"


def test_images_empty_store(store):
    assert store.images() == []
    assert store.ok("images").stdout.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED",
                                                 "SIZE"]


def test_inspect(busybox_store):
    entry = image(busybox_store.images(), "busybox")
    out = json.loads(busybox_store.ok("inspect", "busybox").stdout)
    assert isinstance(out, list) and len(out) == 1
    img = out[0]
    assert img["Id"] == entry["id"]
    assert img["RepoTags"] == ["busybox:latest"]
    assert img["RepoDigests"] == [f"busybox@{entry['digest']}"]
    assert (img["Architecture"], img["Os"]) == ("amd64", "linux")
    assert img["Config"]["Cmd"] == ["sh"]
    assert any(e.startswith("PATH=") for e in img["Config"]["Env"])
    assert img["Config"]["Entrypoint"] is None
    assert img["RootFS"]["Type"] == "layers"
    layers = img["RootFS"]["Layers"]
    assert len(layers) == 1 and layers[0].startswith("sha256:")
    assert layers[0][7:] in busybox_store.layers()  # unpacked by the run
    assert img["Size"] == entry["size"]
    assert "Created" in img
    # by ID prefix, too
    by_id = json.loads(busybox_store.ok("inspect", entry["id"][7:19]).stdout)
    assert by_id[0]["Id"] == entry["id"]


def test_save_import_round_trip(busybox_store, tmp_path):
    entry = image(busybox_store.images(), "busybox")
    out = tmp_path / "busybox.tar"
    busybox_store.ok("save", "busybox", "-o", out)
    with tarfile.open(out) as t:
        names = t.getnames()
    assert "oci-layout" in names and "index.json" in names

    fresh = Store(tmp_path / "b")
    res = fresh.ok("import", out)
    assert "busybox:latest" in res.stdout and entry["digest"] in res.stdout
    got = image(fresh.images(), "busybox")
    assert (got["digest"], got["id"], got["size"]) == (entry["digest"], entry["id"],
                                                        entry["size"])
    assert fresh.blobs() == busybox_store.blobs()
    res = fresh.ok("run", "--rm", "busybox", "echo", "hi")
    assert res.stdout == "hi\n"


def test_import_layout_dir_with_name(busybox_store, tmp_path):
    out = tmp_path / "busybox.tar"
    busybox_store.ok("save", "busybox", "-o", out)
    layout = tmp_path / "layout"
    with tarfile.open(out) as t:
        t.extractall(layout)
    fresh = Store(tmp_path / "b")
    fresh.ok("import", layout, "mycopy:v2")
    images = fresh.images()
    assert image(images, "mycopy", "v2")["digest"] == image(images, "busybox")["digest"]


def make_podman_archive(tmp_path, name):
    """A docker-archive made by `podman save` from a busybox rootfs imported into a private
    podman storage."""
    rootfs = tmp_path / "rootfs"
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp"):
        (rootfs / d).mkdir(parents=True)
    shutil.copy2(BUSYBOX, rootfs / "bin/busybox")
    for applet in ("sh", "true", "echo", "cat"):
        (rootfs / "bin" / applet).symlink_to("busybox")
    (rootfs / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    tar = tmp_path / "rootfs.tar"
    with tarfile.open(tar, "w") as t:
        t.add(rootfs, arcname=".")
    pm = tempfile.mkdtemp(prefix="vessel-pm-", dir="/tmp")  # podman's runroot: <= 50 chars
    base = [PODMAN, "--root", f"{pm}/storage", "--runroot", f"{pm}/runroot", "--tmpdir",
            f"{pm}/tmp", "--storage-driver", "vfs", "--events-backend", "file"]
    out = tmp_path / "docker-archive.tar"
    try:
        for args in (["import", tar, name],
                     ["save", "--format", "docker-archive", "-o", out, name]):
            res = subprocess.run([*map(str, base), *map(str, args)], capture_output=True,
                                 text=True, timeout=120)
            assert res.returncode == 0, res.stderr
    finally:
        shutil.rmtree(pm, ignore_errors=True)
    with tarfile.open(out) as t:
        assert "manifest.json" in t.getnames()
    return out


@pytest.mark.skipif(PODMAN is None, reason="podman is not installed")
def test_podman_docker_archive_then_rmi_collects(busybox_store, tmp_path):
    s = busybox_store
    kept_blobs, kept_layers = s.blobs(), s.layers()
    archive = make_podman_archive(tmp_path, "localhost/vtest-img:latest")
    res = s.ok("import", archive)
    assert "localhost/vtest-img:latest" in res.stdout
    assert s.ok("run", "--rm", "localhost/vtest-img", "echo", "from podman").stdout == \
        "from podman\n"
    entry = image(s.images(), "localhost/vtest-img")
    new_blobs, new_layers = s.blobs() - kept_blobs, s.layers() - kept_layers
    assert entry["digest"][7:] in new_blobs and entry["id"][7:] in new_blobs
    assert len(new_blobs) == 3 and len(new_layers) == 1

    res = s.ok("rmi", "localhost/vtest-img")
    assert "Untagged: localhost/vtest-img:latest" in res.stdout
    assert f"Deleted: {entry['id']}" in res.stdout
    assert [i["repository"] for i in s.images()] == ["busybox"]
    assert s.blobs() == kept_blobs  # its manifest, config and layer are gone, busybox's stay
    assert s.layers() == kept_layers
    assert s.ok("run", "--rm", "busybox", "true").returncode == 0


def test_rmi_by_id_needs_force_when_shared(busybox_store, tmp_path):
    s = busybox_store
    out = tmp_path / "busybox.tar"
    s.ok("save", "busybox", "-o", out)
    s.ok("import", out, "second:tag")
    entry = image(s.images(), "busybox")
    short = entry["id"][7:19]
    res = s("rmi", short)
    assert res.returncode == 125 and "-f" in res.stderr
    assert len(s.images()) == 2
    res = s.ok("rmi", "-f", short)
    assert "Untagged: busybox:latest" in res.stdout and "Untagged: second:tag" in res.stdout
    assert s.images() == [] and s.blobs() == set() and s.layers() == set()


def tar_with(path, members):
    with tarfile.open(path, "w") as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("case", ["missing", "garbage", "dotdot", "rmi", "save", "inspect"])
def test_bad_input(busybox_store, tmp_path, case):
    s = busybox_store
    before, blobs_before = s.images(), s.blobs()
    escape = tmp_path / "escaped"
    if case == "missing":
        args, word = ["import", tmp_path / "no-such.tar"], "no-such.tar"
    elif case == "garbage":
        (tmp_path / "garbage.tar").write_bytes(os.urandom(4096))
        args, word = ["import", tmp_path / "garbage.tar"], "garbage.tar"
    elif case == "dotdot":
        evil = tmp_path / "evil.tar"
        tar_with(evil, [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                        ("../escaped", b"outside"),
                        ("index.json", b'{"schemaVersion":2,"manifests":[]}')])
        args, word = ["import", evil, "evil:1"], "../escaped"
    elif case == "rmi":
        args, word = ["rmi", "no-such-image"], "no-such-image"
    elif case == "save":
        args, word = ["save", "no-such-image", "-o", tmp_path / "out.tar"], "no-such-image"
    else:
        args, word = ["inspect", "no-such-image"], "no-such-image"
    res = s(*args)
    assert res.returncode == 125, res
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vessel: "), res.stderr
    assert word in lines[0]
    assert s.images() == before  # no new name, none removed
    assert not escape.exists()
    assert not (tmp_path / "out.tar").exists()
    if case != "dotdot":
        assert s.blobs() == blobs_before


def test_usage_errors(store):
    for args in (["save", "busybox"], ["rmi"], ["inspect"], ["import"],
                 ["images", "--format", "yaml"], ["images", "--bogus"]):
        res = store(*args)
        assert res.returncode == 125, args
        assert res.stderr.startswith("vessel: ") and len(res.stderr.splitlines()) == 1, args
