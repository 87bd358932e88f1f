"""`vessel pull` against Debian's docker-registry on 127.0.0.1, with images pushed by skopeo.

The images are built here as OCI layouts (a busybox layer, a multi-platform index, a zstd
layer, a layer with whiteouts). Small HTTP proxies in front of the registry demand a bearer
token, corrupt a blob, cut a blob short, break a transfer once (to see it resumed), or hold
the layers back a while (to run image gc during a pull).
"""

import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BUILD = os.environ.get("VESSEL_BUILD") or os.path.join(os.path.dirname(__file__), "../../build")
VESSEL = os.path.join(BUILD, "vessel")
REGISTRY = shutil.which("docker-registry")
SKOPEO = shutil.which("skopeo")
BUSYBOX = "/bin/busybox"
TOKEN = "s3cret-token"
USER, PASSWORD = "alice", "wonderland"

pytestmark = pytest.mark.skipif(
    not (REGISTRY and SKOPEO and os.path.exists(BUSYBOX)),
    reason="needs docker-registry, skopeo and busybox-static (scripts/install-deps)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---- OCI layouts -------------------------------------------------------------------------

def make_tar(entries):
    """entries: (name, kind, data_or_target, mode) with kind file|dir|symlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def busybox_tar():
    entries = [("bin", "dir", None, 0o755), ("bin/busybox", "file",
                                             Path(BUSYBOX).read_bytes(), 0o755)]
    for applet in ("sh", "true", "cat", "ls", "echo", "test"):
        entries.append((f"bin/{applet}", "symlink", "busybox", 0o777))
    entries += [("etc", "dir", None, 0o755), ("etc/removed", "file", b"gone\n", 0o644),
                ("etc/kept", "file", b"kept\n", 0o644), ("dir", "dir", None, 0o755),
                ("dir/a", "file", b"a\n", 0o644)]
    return make_tar(entries)


class Layout:
    """An OCI image layout directory written blob by blob."""

    def __init__(self, path):
        self.path = Path(path)
        (self.path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.refs = []

    def blob(self, data, media_type, **extra):
        d = sha(data)
        (self.path / "blobs" / "sha256" / d[7:]).write_bytes(data)
        return {"mediaType": media_type, "digest": d, "size": len(data), **extra}

    def image(self, layers, arch="amd64"):
        """layers: [(raw tar bytes, "gzip"|"zstd"|"none")]; returns the manifest descriptor."""
        descs, diff_ids = [], []
        for raw, comp in layers:
            diff_ids.append(sha(raw))
            if comp == "gzip":
                descs.append(self.blob(gzip.compress(raw, mtime=0),
                                       "application/vnd.oci.image.layer.v1.tar+gzip"))
            elif comp == "zstd":
                z = subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True,
                                   check=True).stdout
                descs.append(self.blob(z, "application/vnd.oci.image.layer.v1.tar+zstd"))
            else:
                descs.append(self.blob(raw, "application/vnd.oci.image.layer.v1.tar"))
        config = {"architecture": arch, "os": "linux",
                  "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        cdesc = self.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cdesc, "layers": descs}
        return self.blob(json.dumps(manifest).encode(),
                         "application/vnd.oci.image.manifest.v1+json",
                         platform={"os": "linux", "architecture": arch})

    def index(self, manifests):
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": manifests}
        return self.blob(json.dumps(idx).encode(), "application/vnd.oci.image.index.v1+json")

    def ref(self, desc, tag):
        d = {k: v for k, v in desc.items() if k != "platform"}
        d["annotations"] = {"org.opencontainers.image.ref.name": tag}
        self.refs.append(d)
        (self.path / "index.json").write_text(json.dumps({"schemaVersion": 2,
                                                          "manifests": self.refs}))


def arch_tar(arch):
    return make_tar([("arch", "file", arch.encode() + b"\n", 0o644)])


def whiteout_tar():
    return make_tar([("etc", "dir", None, 0o755), ("etc/.wh.removed", "file", b"", 0o644),
                     ("dir", "dir", None, 0o755), ("dir/.wh..wh..opq", "file", b"", 0o644),
                     ("dir/b", "file", b"b\n", 0o644)])


# ---- the registry ------------------------------------------------------------------------

def wait_http(url, deadline=20):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("registry")
    port = free_port()
    (tmp / "config.yml").write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp}/data\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n")
    log = open(tmp / "registry.log", "w")
    proc = subprocess.Popen([REGISTRY, "serve", str(tmp / "config.yml")], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/v2/")
        host = f"127.0.0.1:{port}"
        push_images(tmp, host)
        yield host
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def skopeo_copy(src, dest, *flags):
    subprocess.run([SKOPEO, "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                    *flags, src, dest], check=True, capture_output=True, timeout=120)


def push_images(tmp, host):
    lay = Layout(tmp / "layout")
    base = busybox_tar()
    lay.ref(lay.image([(base, "gzip")]), "simple")
    amd = lay.image([(base, "gzip"), (arch_tar("amd64"), "gzip")], "amd64")
    arm = lay.image([(arch_tar("arm64"), "gzip")], "arm64")
    lay.ref(lay.index([arm, amd]), "multi")
    if shutil.which("zstd"):
        lay.ref(lay.image([(base, "zstd")]), "zstd")
    lay.ref(lay.image([(base, "gzip"), (whiteout_tar(), "none")]), "whiteout")
    for tag in ("simple", "whiteout"):
        skopeo_copy(f"oci:{lay.path}:{tag}", f"docker://{host}/x:{tag}")
    skopeo_copy(f"oci:{lay.path}:multi", f"docker://{host}/multi:v1", "--all")
    if shutil.which("zstd"):
        skopeo_copy(f"oci:{lay.path}:zstd", f"docker://{host}/z:v1")
    else:
        skopeo_copy(f"oci:{lay.path}:simple", f"docker://{host}/z:v1",
                    "--dest-compress-format", "zstd")


# ---- proxies in front of the registry ------------------------------------------------------

class Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream, mode):
        self.upstream, self.mode, self.blob_gets, self.ranges = upstream, mode, 0, []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), ProxyHandler)

    def handle_error(self, request, client_address):
        pass  # vessel hanging up on a refused answer is expected

    @property
    def host(self):
        return f"127.0.0.1:{self.server_address[1]}"


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server
        if srv.mode == "auth" and self.path.startswith("/token"):
            return self.token()
        if srv.mode == "auth" and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            realm = f"http://{srv.host}/token"
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token"}]}', [
                ("WWW-Authenticate",
                 f'Bearer realm="{realm}",service="test",scope="repository:x:pull"')])
        self.forward()

    def token(self):
        import base64
        want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != want or "service=test" not in self.path:
            return self.reply(401, b"{}")
        self.reply(200, json.dumps({"token": TOKEN}).encode(),
                   [("Content-Type", "application/json")])

    def forward(self):
        srv = self.server
        if srv.mode == "error500":
            with srv.lock:
                srv.blob_gets += 1
            return self.reply(500, b'{"errors":[{"code":"UNKNOWN","message":"boom"}]}')
        if srv.mode == "huge-manifest" and "/manifests/" in self.path:
            return self.reply(200, b"{" + b" " * (5 << 20) + b"}", [
                ("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
        req = urllib.request.Request(f"http://{srv.upstream}{self.path}")
        for h in ("Accept", "Range"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, body, headers = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, body, headers = e.code, e.read(), e.headers
        keep = [(k, headers[k]) for k in ("Content-Type", "Docker-Content-Digest",
                                          "Content-Range") if headers.get(k)]
        is_layer = "/blobs/" in self.path and len(body) > 100000
        if is_layer:
            with srv.lock:
                srv.blob_gets += 1
                first = srv.blob_gets == 1
                if self.headers.get("Range"):
                    srv.ranges.append(self.headers["Range"])
            if srv.mode == "corrupt":
                body = body[:1000] + bytes([body[1000] ^ 0xff]) + body[1001:]
            elif srv.mode == "slow":
                time.sleep(2)
            elif srv.mode == "truncate" or (srv.mode == "break-once" and first):
                return self.cut(status, body, keep)
        self.reply(status, body, keep)

    def cut(self, status, body, headers):
        """Announces the whole body, sends half of it and closes the connection."""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body[:len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def proxy(registry):
    servers = []

    def start(mode):
        p = Proxy(registry, mode)
        threading.Thread(target=p.serve_forever, daemon=True).start()
        servers.append(p)
        return p

    yield start
    for p in servers:
        p.shutdown()
        p.server_close()


# ---- vessel ----------------------------------------------------------------------------------

@pytest.fixture
def vessel(tmp_path):
    root, state = tmp_path / "root", tmp_path / "state"
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(tmp_path / "no-auth.json")}

    def run(*args, timeout=120, extra_env=None):
        return subprocess.run([VESSEL, "--root", str(root), "--state", str(state), *args],
                              capture_output=True, text=True, timeout=timeout,
                              env={**env, **(extra_env or {})})

    run.root = root
    return run


def tagged(root):
    p = Path(root) / "images.json"
    if not p.exists():
        return {}
    return json.loads(p.read_text()).get("images", {})


def test_pull_and_run(vessel, registry):
    res = vessel("pull", f"{registry}/x:simple")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"{registry}/x:simple"
    assert "Pull complete" in res.stderr and "Digest: sha256:" in res.stderr
    assert f"{registry}/x:simple" in tagged(vessel.root)
    run = vessel("run", "--rm", f"{registry}/x:simple", "true")
    assert run.returncode == 0, run.stderr
    again = vessel("pull", f"{registry}/x:simple")
    assert again.returncode == 0 and "Already exists" in again.stderr, again.stderr


def test_quiet_prints_the_digest(vessel, registry):
    res = vessel("pull", "--quiet", f"{registry}/x:simple")
    assert res.returncode == 0, res.stderr
    digest = res.stdout.strip()
    assert digest.startswith("sha256:") and len(digest) == 71 and res.stderr == ""
    with urllib.request.urlopen(urllib.request.Request(
            f"http://{registry}/v2/x/manifests/simple", method="HEAD", headers={
                "Accept": "application/vnd.oci.image.manifest.v1+json"})) as r:
        assert r.headers["Docker-Content-Digest"] == digest
    by_digest = vessel("pull", "-q", f"{registry}/x@{digest}")
    assert by_digest.returncode == 0 and by_digest.stdout.strip() == digest, by_digest.stderr


def test_multi_platform_picks_amd64(vessel, registry):
    res = vessel("pull", f"{registry}/multi:v1")
    assert res.returncode == 0, res.stderr
    run = vessel("run", "--rm", f"{registry}/multi:v1", "cat", "/arch")
    assert (run.returncode, run.stdout) == (0, "amd64\n"), run.stderr


def test_multi_platform_arm64_is_fetched(vessel, registry):
    res = vessel("pull", "--platform", "linux/arm64", f"{registry}/multi:v1")
    assert res.returncode == 0, res.stderr
    missing = vessel("pull", "--platform", "linux/s390x", f"{registry}/multi:v1")
    assert missing.returncode != 0 and "s390x" in missing.stderr


def test_zstd_layer(vessel, registry):
    with urllib.request.urlopen(urllib.request.Request(
            f"http://{registry}/v2/z/manifests/v1", headers={
                "Accept": "application/vnd.oci.image.manifest.v1+json"})) as r:
        manifest = json.loads(r.read())
    assert manifest["layers"][0]["mediaType"].endswith("zstd")
    assert vessel("pull", f"{registry}/z:v1").returncode == 0
    run = vessel("run", "--rm", f"{registry}/z:v1", "cat", "/etc/kept")
    assert (run.returncode, run.stdout) == (0, "kept\n"), run.stderr


def test_whiteouts(vessel, registry):
    assert vessel("pull", f"{registry}/x:whiteout").returncode == 0
    run = vessel("run", "--rm", f"{registry}/x:whiteout", "sh", "-c",
                 "ls /dir; test -e /etc/removed && echo present; cat /etc/kept")
    assert (run.returncode, run.stdout) == (0, "b\nkept\n"), run.stderr


def test_bearer_token(vessel, registry, proxy, tmp_path):
    p = proxy("auth")
    anonymous = vessel("pull", f"{p.host}/x:simple")
    assert anonymous.returncode != 0 and "401" in anonymous.stderr, anonymous.stderr
    assert tagged(vessel.root) == {}
    import base64
    auth = tmp_path / "auth.json"
    cred = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    auth.write_text(json.dumps({"auths": {p.host: {"auth": cred}}}))
    res = vessel("pull", f"{p.host}/x:simple", extra_env={"REGISTRY_AUTH_FILE": str(auth)})
    assert res.returncode == 0, res.stderr
    assert f"{p.host}/x:simple" in tagged(vessel.root)


def helper_script(tmp_path, name, body):
    """A docker-credential-NAME in tmp_path/bin; returns the PATH that finds it."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    script = bindir / f"docker-credential-{name}"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"


def test_credential_helper(vessel, registry, proxy, tmp_path):
    p = proxy("auth")
    path = helper_script(tmp_path, "test", (
        f'read server\n[ "$server" = "{p.host}" ] || {{ echo "credentials not found"; exit 1; }}\n'
        f'echo \'{{"ServerURL":"{p.host}","Username":"{USER}","Secret":"{PASSWORD}"}}\'\n'))
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {p.host: {}}, "credHelpers": {p.host: "test"}}))
    env = {"REGISTRY_AUTH_FILE": str(auth), "PATH": path}
    res = vessel("pull", f"{p.host}/x:simple", extra_env=env)
    assert res.returncode == 0, res.stderr
    assert f"{p.host}/x:simple" in tagged(vessel.root)
    auth.write_text(json.dumps({"credsStore": "test"}))
    assert vessel("rmi", f"{p.host}/x:simple").returncode == 0
    res = vessel("pull", f"{p.host}/x:simple", extra_env=env)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("body, words", [
    ("echo 'the keyring is locked'; exit 3\n", ["exit status 3", "the keyring is locked"]),
    ("echo 'no json here'\n", ["JSON"]),
])
def test_credential_helper_fails(vessel, registry, proxy, tmp_path, body, words):
    p = proxy("auth")
    path = helper_script(tmp_path, "broken", body)
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"credsStore": "broken"}))
    res = vessel("pull", f"{p.host}/x:simple",
                 extra_env={"REGISTRY_AUTH_FILE": str(auth), "PATH": path})
    assert res.returncode != 0
    line = res.stderr.strip().splitlines()[-1]
    assert "docker-credential-broken" in line and all(w in line for w in words), res.stderr
    assert tagged(vessel.root) == {}


def test_pull_unpacks_the_layers(vessel, registry):
    """The layers are unpacked during the pull (verified first), so the first run finds them."""
    assert vessel("pull", f"{registry}/x:whiteout").returncode == 0
    layers = sorted(p.name for p in (vessel.root / "layers").iterdir())
    assert layers and all(len(n) == 64 for n in layers), layers
    run = vessel("run", "--rm", f"{registry}/x:whiteout", "cat", "/etc/kept")
    assert (run.returncode, run.stdout) == (0, "kept\n"), run.stderr
    assert sorted(p.name for p in (vessel.root / "layers").iterdir()) == layers


def test_gc_during_a_pull(vessel, registry, proxy):
    """`vessel rmi` (its gc) while a pull has stored blobs but not tagged them yet: the gc
    waits for the pull, and the pulled image is whole afterwards. z:v1 has the same busybox
    layer as x:simple (its diff_id, so its unpacked directory) in another blob (zstd)."""
    assert vessel("pull", f"{registry}/z:v1").returncode == 0
    p = proxy("slow")
    pull = subprocess.Popen([VESSEL, "--root", str(vessel.root), "pull", "-q",
                             f"{p.host}/x:simple"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "REGISTRY_AUTH_FILE": "/nonexistent"})
    try:
        deadline = time.time() + 20
        while p.blob_gets == 0 and time.time() < deadline:
            time.sleep(0.05)  # the config is stored, a layer is on its way
        assert p.blob_gets > 0
        rmi = vessel("rmi", f"{registry}/z:v1")
        assert rmi.returncode == 0, rmi.stderr
        # the gc waited for the pull, which tags before it lets go of the store
        assert f"{p.host}/x:simple" in tagged(vessel.root)
    finally:
        out, err = pull.communicate(timeout=60)
    assert pull.returncode == 0, err
    assert list(tagged(vessel.root)) == [f"{p.host}/x:simple"]
    run = vessel("run", "--rm", f"{p.host}/x:simple", "true")
    assert run.returncode == 0, run.stderr


def test_resumed_after_a_break(vessel, registry, proxy):
    p = proxy("break-once")
    res = vessel("pull", f"{p.host}/x:simple")
    assert res.returncode == 0, res.stderr
    assert p.ranges and p.ranges[0].startswith("bytes="), p.ranges
    assert p.ranges[0] != "bytes=0-"


@pytest.mark.parametrize("ref, words", [
    ("Bad//Ref", ["reference"]),
    ("{registry}/nothere:v1", ["nothere", "404"]),
    ("{registry}/x:notag", ["notag", "404"]),
    ("127.0.0.1:{closed}/x:v1", ["x:v1", "Connection refused"]),
])
def test_bad_input(vessel, registry, ref, words):
    ref = ref.format(registry=registry, closed=free_port())
    res = vessel("pull", ref, timeout=60)
    print(res.stderr)
    assert "Sanitizer" not in res.stderr
    assert res.returncode != 0
    line = res.stderr.strip().splitlines()[-1]
    assert line.startswith("vessel: ") and all(w in line for w in words), res.stderr
    assert tagged(vessel.root) == {}


@pytest.mark.parametrize("mode, words", [("corrupt", "digest mismatch"),
                                         ("truncate", "blob sha256:")])
def test_bad_blob(vessel, registry, proxy, mode, words):
    p = proxy(mode)
    res = vessel("pull", f"{p.host}/x:simple", timeout=60)
    print(res.stderr)
    assert "Sanitizer" not in res.stderr
    assert res.returncode != 0
    assert words in res.stderr and len(res.stderr.strip().splitlines()) >= 1, res.stderr
    assert tagged(vessel.root) == {}
    blobs = list((vessel.root / "tmp").iterdir()) if (vessel.root / "tmp").exists() else []
    assert blobs == []
    layers = vessel.root / "layers"
    assert not layers.exists() or not [n for n in layers.iterdir() if ".tmp-" in n.name]


def test_oversized_manifest(vessel, registry, proxy):
    p = proxy("huge-manifest")
    res = vessel("pull", f"{p.host}/x:simple")
    assert res.returncode != 0, res.stderr
    assert "manifest simple" in res.stderr and "larger than" in res.stderr, res.stderr
    assert tagged(vessel.root) == {}


def test_server_error_is_retried_then_reported(vessel, registry, proxy):
    p = proxy("error500")
    res = vessel("pull", f"{p.host}/x:simple")
    assert res.returncode != 0
    assert "manifest simple: 500 Internal Server Error (UNKNOWN: boom)" in res.stderr, res.stderr
    assert p.blob_gets == 3  # three tries
    assert tagged(vessel.root) == {}


def test_progress_on_a_terminal(vessel, registry, tmp_path):
    if not shutil.which("script"):
        pytest.skip("no script(1) to give vessel a terminal")
    cmd = f"{VESSEL} --root {vessel.root} pull {registry}/x:simple"
    res = subprocess.run(["script", "-qec", cmd, str(tmp_path / "typescript")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout
    assert "\x1b[K" in res.stdout and "Pull complete" in res.stdout, res.stdout
