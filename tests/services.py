"""Services that tests start on localhost and stop: an S3-compatible server
(moto's server, in a thread) and a Dask cluster made of a real ``dask
scheduler`` and ``dask worker`` processes.

Fixtures (imported by conftest): ``s3_server`` (session), ``s3_bucket``
(a fresh bucket per test), ``dask_cluster`` (session: a scheduler and two
workers).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import List, Optional

import pytest

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3Server:
    """moto's S3 server on 127.0.0.1 at a free port, recording each request
    (method, path, Range header) so tests can see how objects were read."""

    def __init__(self):
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        self.requests: List[tuple] = []
        self._lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)

        def recording(environ, start_response):
            with self._lock:
                self.requests.append((environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
                                      environ.get("HTTP_RANGE")))
            return app(environ, start_response)

        class Quiet(MotoRequestHandler):
            def log_request(self, *args, **kwargs):
                pass

        self._server = make_server("127.0.0.1", 0, recording, threaded=True,
                                   request_handler=Quiet)
        self.port = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="moto-s3")
        self._thread.start()

    def gets(self, key_suffix: str) -> List[Optional[str]]:
        """The Range headers of every GET of an object whose path ends so."""
        with self._lock:
            return [r for m, p, r in self.requests if m == "GET" and p.endswith(key_suffix)]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def s3_server():
    """An S3 server on localhost; the environment points boto/s3fs at it
    (so ``dask worker`` processes started afterwards find it too)."""
    server = S3Server()
    saved = {k: os.environ.get(k) for k in (*S3_ENV, "AWS_ENDPOINT_URL_S3",
                                            "FSSPEC_S3_ENDPOINT_URL")}
    os.environ.update(S3_ENV)
    os.environ["AWS_ENDPOINT_URL_S3"] = server.endpoint
    os.environ["FSSPEC_S3_ENDPOINT_URL"] = server.endpoint
    import fsspec.config

    fsspec.config.conf.setdefault("s3", {})["endpoint_url"] = server.endpoint
    try:
        yield server
    finally:
        fsspec.config.conf.get("s3", {}).pop("endpoint_url", None)
        _clear_s3fs_cache()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


def _clear_s3fs_cache() -> None:
    try:
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()
    except ImportError:
        pass


@pytest.fixture
def s3_bucket(s3_server):
    """A new, empty bucket: its ``s3://`` URL."""
    import s3fs

    name = f"dicom2ion-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(endpoint_url=s3_server.endpoint)
    fs.mkdir(name)
    yield f"s3://{name}"
    fs.rm(name, recursive=True)
    _clear_s3fs_cache()


class DaskCluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1.

    Workers run without a nanny unless asked (so a killed worker stays dead,
    as a lost machine would), each process in its own session so that
    ``kill_worker`` takes its whole process group down at once."""

    def __init__(self, folder: str, workers: int = 2, *, nanny: bool = False,
                 scheduler_env: Optional[dict] = None, env: Optional[dict] = None):
        self.folder = folder
        self.nanny = nanny
        self.env = dict(env or {})
        os.makedirs(folder, exist_ok=True)
        self.scheduler_file = os.path.join(folder, "scheduler.json")
        self.workers: List[subprocess.Popen] = []
        self._logs = []
        self.scheduler = self._start("scheduler", [
            "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--scheduler-file", self.scheduler_file], {**self.env, **(scheduler_env or {})})
        self.address = self._wait_for_address()
        for i in range(workers):
            self.add_worker(f"w{i}")
        self.wait_for_workers(workers)

    def _start(self, name: str, arguments: List[str],
               env: Optional[dict] = None) -> subprocess.Popen:
        log = open(os.path.join(self.folder, f"{name}.log"), "wb")
        self._logs.append(log)
        return subprocess.Popen([sys.executable, "-m", "dask", *arguments], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=self.folder,
                                env={**os.environ, **(env or {})})

    def add_worker(self, name: str) -> subprocess.Popen:
        local = os.path.join(self.folder, name)
        os.makedirs(local, exist_ok=True)
        proc = self._start(name, [
            "worker", "--scheduler-file", self.scheduler_file, "--host", "127.0.0.1",
            "--nthreads", "1", "--no-dashboard", "--name", name, "--local-directory", local,
            "--death-timeout", "30", "--nanny" if self.nanny else "--no-nanny"], self.env)
        self.workers.append(proc)
        return proc

    def _wait_for_address(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler exited: {self.log('scheduler')}")
            try:
                with open(self.scheduler_file) as fp:
                    return json.load(fp)["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        raise RuntimeError(f"dask scheduler did not start: {self.log('scheduler')}")

    def client(self, **options):
        from distributed import Client

        return Client(self.address, timeout=30, **options)

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        with self.client() as client:
            client.wait_for_workers(count, timeout=timeout)

    def log(self, name: str) -> str:
        try:
            with open(os.path.join(self.folder, f"{name}.log"), "rb") as fp:
                return fp.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def kill_worker(self, proc: subprocess.Popen) -> None:
        """SIGKILL the worker's whole process group."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop(self) -> None:
        """Workers first (so none waits for a scheduler that is gone), then
        the scheduler: SIGTERM, and SIGKILL for what is still there after 5 s."""
        for group in (self.workers, [self.scheduler]):
            for proc in group:
                if proc.poll() is None:
                    try:
                        os.killpg(proc.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            for proc in group:
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=15)
        for log in self._logs:
            log.close()


@pytest.fixture(scope="session")
def dask_cluster(s3_server):
    """A scheduler and two single-threaded workers (they see the S3 server)."""
    folder = tempfile.mkdtemp(prefix="dicom2ion-dask-")
    cluster = DaskCluster(folder, workers=2)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def poison_group(tasks, topic=None):
    """A Dask task (for a cluster whose processes can import this module)
    that kills its worker when its group holds a file named poison.dcm."""
    from dicom2ion import dask_executor

    if any(t.source.endswith("poison.dcm") for t in tasks):
        os._exit(1)
    return dask_executor.run_group(tasks, topic)
