"""roamtest: real servers and Roam daemons for integration tests.

Standard library only (run with /usr/bin/python3). A Stack owns one temporary
folder under /tmp and every process it starts; it tears all of them down when
the `with` block ends, on an exception, on SIGTERM/SIGINT/SIGHUP and at exit.

    with Stack() as st:
        st.start_postgres()
        st.start_redis()
        st.start_broker()
        d = st.start_daemon("testd", {"ROAM_TESTD_CONSUME": "true"})
        r = http("POST", d.url + "/notes", {"text": "hi"})
        assert r.status == 201, r

Every server listens on 127.0.0.1 on a free port (the kernel picks it; a start
that loses a race for the port is retried on another one). Child processes run
in their own session, so the whole process group can be killed.

Environment:
  ROAM_BUILD_DIR        build folder with the binaries (default <repo>/build)
  ROAM_PG_BIN           PostgreSQL bin folder (default: newest /usr/lib/postgresql/*/bin)
  ROAM_TEST_LOG_LEVEL   ROAM_LOG_LEVEL given to daemons (default debug)
  ROAM_TEST_KEEP=1      keep the temporary folder (logs, data) after teardown
"""

from __future__ import annotations

import atexit
import ctypes
import email
import email.message
import email.policy
import glob
import http.client as httpclient
import json
import mailbox
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("auth", "inventory", "booking", "payment", "review", "notification")
# Start order of the real daemons: each one's upstreams come before it.
ALL_DAEMONS = SERVICES + ("gateway",)
DEFAULT_TOPICS = ("bookings", "payments", "reviews", "testd.events")
SYSTEM_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
IS_ROOT = os.geteuid() == 0


class HarnessError(RuntimeError):
    """A server or daemon could not be started or stopped."""


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(fn, timeout: float = 10, interval: float = 0.1, message: str | None = None):
    """Calls fn until it returns a true value, and returns that value.

    Exceptions raised by fn count as "not yet". After timeout seconds raises
    AssertionError with message, the last value and the last exception.
    """
    deadline = time.monotonic() + timeout
    last_value = None
    last_error = None
    while True:
        try:
            value = fn()
            if value:
                return value
            last_value = value
            last_error = None
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last_error = e
        if time.monotonic() >= deadline:
            what = message or getattr(fn, "__name__", repr(fn))
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}: "
                f"last value {last_value!r}, last error {last_error!r}"
            )
        time.sleep(interval)


def tail(path: Path | str, lines: int = 40) -> str:
    """The last lines of a text file ("" if it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def pg_bindir() -> Path:
    """The PostgreSQL bin folder: $ROAM_PG_BIN or the newest /usr/lib/postgresql/<v>/bin."""
    if os.environ.get("ROAM_PG_BIN"):
        return Path(os.environ["ROAM_PG_BIN"])
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        version = Path(initdb).parent.parent.name
        try:
            found.append((float(version), Path(initdb).parent))
        except ValueError:
            continue
    if not found:
        raise HarnessError("no PostgreSQL found under /usr/lib/postgresql/*/bin (run deploy/dev/install-deps)")
    return max(found)[1]


# --------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------


class Response:
    """An HTTP response: status, reason, headers (case-insensitive), body (bytes)."""

    def __init__(self, status: int, reason: str, headers: httpclient.HTTPMessage, body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self) -> str:
        body = self.text
        if len(body) > 500:
            body = body[:500] + "..."
        return f"<Response {self.status} {self.reason} {body!r}>"


def http(method: str, url: str, body=None, headers: dict | None = None, raw: bytes | str | None = None,
         timeout: float = 10) -> Response:
    """Sends one request on a new connection and returns the Response.

    body is sent as JSON (Content-Type application/json unless headers say
    otherwise); raw is sent as is. A server that answers before reading the
    whole body (an early 413) and closes is fine: its answer is returned.
    """
    parts = urllib.parse.urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    hdrs = dict(headers or {})
    lower = {k.lower() for k in hdrs}
    data = None
    if raw is not None:
        data = raw.encode() if isinstance(raw, str) else raw
    elif body is not None:
        data = json.dumps(body).encode()
        if "content-type" not in lower:
            hdrs["Content-Type"] = "application/json"
    conn = httpclient.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        try:
            conn.request(method, path, body=data, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed; read what it said
        resp = conn.getresponse()
        payload = resp.read()
        return Response(resp.status, resp.reason, resp.headers, payload)
    finally:
        conn.close()


# --------------------------------------------------------------------------
# Process bookkeeping and signal handling
# --------------------------------------------------------------------------

_live_stacks: list["Stack"] = []
_closing = 0
_pending_signal: int | None = None
_handlers_installed = False

try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
except (OSError, AttributeError):  # pragma: no cover - not Linux
    _prctl = None


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL if the harness dies (PR_SET_PDEATHSIG)."""
    if _prctl is not None:
        _prctl(1, int(signal.SIGKILL), 0, 0, 0)


def _close_all():
    for st in list(_live_stacks):
        st.close()


def _redeliver(signum: int):
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)


def _on_signal(signum, frame):
    global _pending_signal
    _pending_signal = signum
    if _closing:
        return  # the teardown under way re-delivers the signal when it is done
    _close_all()
    _redeliver(signum)


def _install_handlers():
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    atexit.register(_close_all)
    _handlers_installed = True


# Runs in a separate process for each Stack: if the harness dies without its
# teardown (SIGKILL, a crash), it kills the stack's process groups, stops
# PostgreSQL (which pg_ctl detached from us) and deletes the folder.
_WATCHDOG = r"""
import os, shutil, signal, subprocess, sys, time
parent, tmp, pg_ctl, runuser, keep = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
signal.signal(signal.SIGINT, signal.SIG_IGN)
while os.getppid() == parent:
    time.sleep(0.5)
try:
    groups = {int(x) for x in open(os.path.join(tmp, "pgids")).read().split()}
except OSError:
    groups = set()
for g in groups:
    try:
        os.killpg(g, signal.SIGKILL)
    except OSError:
        pass
data = os.path.join(tmp, "pg", "data")
if pg_ctl and os.path.exists(os.path.join(data, "postmaster.pid")):
    argv = ([runuser, "-u", "postgres", "--"] if runuser else []) + [pg_ctl, "-D", data, "-m", "immediate", "stop"]
    subprocess.run(argv, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if keep != "1":
    shutil.rmtree(tmp, ignore_errors=True)
"""


def _kill_group(proc: subprocess.Popen, sig=signal.SIGKILL):
    """Signals proc's whole process group (it leads its own session)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_proc(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 10) -> int:
    """Signals proc, waits up to timeout, then kills its group. Returns the exit status."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    _kill_group(proc)
    return proc.wait()


# --------------------------------------------------------------------------
# Daemons
# --------------------------------------------------------------------------


class Daemon:
    """A Roam daemon started by a Stack.

    url, port, proc (subprocess.Popen), log_path (stdout and stderr), env.
    """

    def __init__(self, stack: "Stack", name: str, binary: Path, port: int, env: dict, log_path: Path):
        self.stack = stack
        self.name = name
        self.binary = binary
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log_offset = 0

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited {self.proc.returncode if self.proc else None}"
        return f"<Daemon {self.name} {self.url} {state}>"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _spawn(self):
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            log.write(b'{"harness":"roamtest","msg":"starting %s on port %d"}\n' % (self.name.encode(), self.port))
            log.flush()
            self.proc = subprocess.Popen(
                [str(self.binary)], env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, preexec_fn=self.stack._preexec())
        self.stack._track(self.proc)

    def _log_since_spawn(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _bind_failed(self) -> bool:
        text = self._log_since_spawn().lower()
        return "in use" in text or "eaddrinuse" in text or "cannot listen" in text

    def wait_healthy(self, ready: bool = True, timeout: float = 20):
        """Waits for /healthz 200 (and /readyz 200 if ready). Raises HarnessError with the log tail."""
        deadline = time.monotonic() + timeout
        path = "/healthz"
        last = None
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise HarnessError(f"{self.name} exited with status {rc} before it was "
                                   f"{'ready' if path == '/readyz' else 'healthy'}; log {self.log_path}:\n"
                                   f"{tail(self.log_path, 30)}")
            try:
                last = http("GET", self.url + path, timeout=2)
                if last.status == 200:
                    if path == "/healthz" and ready:
                        path = "/readyz"
                        continue
                    return self
            except OSError as e:
                last = e
            if time.monotonic() >= deadline:
                raise HarnessError(f"{self.name} did not answer {path} 200 within {timeout}s "
                                   f"(last: {last!r}); log {self.log_path}:\n{tail(self.log_path, 30)}")
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> int:
        """Sends sig and waits for the exit; returns the exit status (negative: killed by a signal).

        If the daemon does not exit within timeout, kills it and raises TimeoutError.
        """
        if self.proc is None:
            raise HarnessError(f"{self.name} was never started")
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc)
                self.proc.wait()
                raise TimeoutError(f"{self.name} did not exit within {timeout}s after "
                                   f"{signal.Signals(sig).name}; log:\n{tail(self.log_path, 20)}")
        _kill_group(self.proc)
        return self.proc.returncode

    def kill(self) -> int:
        """SIGKILL (the whole process group); returns the exit status."""
        if self.proc is not None:
            _kill_group(self.proc)
            return self.proc.wait()
        return 0

    def start(self, wait_ready: bool = True, timeout: float = 20, wait: bool = True):
        """(Re)starts the stopped daemon on the same port with its env."""
        if self.running:
            raise HarnessError(f"{self.name} is already running")
        deadline = time.monotonic() + max(timeout, 5)
        while True:
            self._spawn()
            if not wait:
                return self
            try:
                return self.wait_healthy(ready=wait_ready, timeout=max(1.0, deadline - time.monotonic()))
            except HarnessError:
                # The port of a process just killed can be busy for a moment.
                if self.proc.poll() is not None and self._bind_failed() and time.monotonic() < deadline:
                    time.sleep(0.3)
                    continue
                raise

    def restart(self, env: dict | None = None, wait_ready: bool = True, timeout: float = 20):
        """Stops the daemon if running (SIGTERM), applies env overrides, starts it again."""
        if self.running:
            self.stop()
        if env:
            _apply_env(self.env, env)
        return self.start(wait_ready=wait_ready, timeout=timeout)

    def logs(self) -> list[dict]:
        """The log as parsed JSON lines; a line that is not JSON becomes {"raw": line}."""
        out = []
        try:
            text = Path(self.log_path).read_text("utf-8", "replace")
        except OSError:
            return out
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                doc = {"raw": line}
            if not (isinstance(doc, dict) and doc.get("harness") == "roamtest"):
                out.append(doc if isinstance(doc, dict) else {"raw": line})
        return out

    # Convenience: requests to this daemon.
    def get(self, path: str, **kw) -> Response:
        return http("GET", self.url + path, **kw)

    def post(self, path: str, body=None, **kw) -> Response:
        return http("POST", self.url + path, body, **kw)

    def request(self, method: str, path: str, body=None, **kw) -> Response:
        return http(method, self.url + path, body, **kw)


def _apply_env(env: dict, overrides: dict):
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)


# --------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------


class Stack:
    """Owns a temporary folder and every server and daemon started through it."""

    def __init__(self, build_dir: str | os.PathLike | None = None):
        if build_dir is None:
            build_dir = os.environ.get("ROAM_BUILD_DIR") or REPO / "build"
        self.build_dir = Path(build_dir).resolve()
        self.tmp = Path(tempfile.mkdtemp(prefix="roamtest-", dir="/tmp"))
        # The postgres user must be able to traverse to its data folder.
        os.chmod(self.tmp, 0o711)
        self.log_dir = self.tmp / "logs"
        self.log_dir.mkdir()
        os.chmod(self.log_dir, 0o755)
        self.daemons: list[Daemon] = []
        self._procs: dict[str, subprocess.Popen] = {}  # servers: redis, broker, smtp
        self._logs: dict[str, Path] = {}  # name -> log file, for dump_logs
        self._on_close: list = []
        self._closed = False
        # PostgreSQL
        self.pg_port: int | None = None
        self.pg_data: Path | None = None
        self.pg_sock: Path | None = None
        self.database_url: str | None = None
        # Redis
        self.redis_port: int | None = None
        self.redis_url: str | None = None
        # Kafka dev broker
        self.kafka_brokers: str | None = None
        self.kafka_control: str | None = None
        self.kafka_info: dict | None = None
        # SMTP sink
        self.smtp_port: int | None = None
        self.smtp_url: str | None = None
        self.mail_dir = self.tmp / "mail"
        # Shared by every daemon of this stack: the service-to-service secret,
        # and the auth service's signing key (made on first use; see jwt_key_file).
        self.internal_secret = secrets.token_hex(24)
        self._jwt_key_file: Path | None = None
        self._watchdog = None
        _live_stacks.append(self)
        _install_handlers()
        self._watchdog = self._start_watchdog()

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def on_close(self, fn):
        """Registers fn to run first at teardown (last registered runs first)."""
        self._on_close.append(fn)

    def close(self):
        """Stops everything and deletes the temporary folder. Idempotent."""
        global _closing
        if self._closed:
            return
        self._closed = True
        _closing += 1
        try:
            self._teardown()
        finally:
            _closing -= 1
            if self in _live_stacks:
                _live_stacks.remove(self)
        if _pending_signal is not None and _closing == 0:
            _close_all()
            _redeliver(_pending_signal)

    def _teardown(self):
        if self._watchdog is not None:  # we tear down ourselves
            self._watchdog.kill()
            self._watchdog.wait()
        for fn in reversed(self._on_close):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - teardown goes on
                print(f"roamtest: on_close hook failed: {e!r}", file=sys.stderr)
        # Daemons first (SIGTERM all at once, then wait), then the servers they use.
        running = [d for d in self.daemons if d.running]
        for d in running:
            try:
                d.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for d in self.daemons:
            if d.proc is not None:
                try:
                    d.proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    print(f"roamtest: {d.name} ignored SIGTERM for 10 s; killing it", file=sys.stderr)
                _kill_group(d.proc)
                d.proc.wait()
                if d in running and d.proc.returncode != 0:
                    # Worth knowing (a crash or a sanitizer report at shutdown), not fatal here.
                    print(f"roamtest: {d.name} ({d.log_path.name}) exited with status {d.proc.returncode} "
                          f"at teardown; last lines:\n{tail(d.log_path, 15)}", file=sys.stderr)
        for name in ("smtp", "broker", "redis"):
            proc = self._procs.pop(name, None)
            if proc is not None:
                _stop_proc(proc, timeout=5)
        for proc in self._procs.values():
            _stop_proc(proc, timeout=5)
        self._procs.clear()
        if self.pg_data is not None:
            self._pg_stop("immediate", check=False)
        if os.environ.get("ROAM_TEST_KEEP") == "1":
            print(f"roamtest: kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _preexec(self):
        # PR_SET_PDEATHSIG fires when the *thread* that forked exits: only use
        # it for children started from the main thread.
        if threading.current_thread() is threading.main_thread():
            return _die_with_parent
        return None

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log_path = self.log_dir / f"{name}.log"
        self._logs[name] = log_path
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd=self.tmp, start_new_session=True, preexec_fn=self._preexec())
        self._procs[name] = proc
        self._track(proc)
        return proc

    def _start_watchdog(self) -> subprocess.Popen:
        try:
            pg_ctl = str(pg_bindir() / "pg_ctl")
        except HarnessError:
            pg_ctl = ""
        runuser = (shutil.which("runuser") or "/usr/sbin/runuser") if IS_ROOT else ""
        return subprocess.Popen(
            [SYSTEM_PYTHON, "-c", _WATCHDOG, str(os.getpid()), str(self.tmp), pg_ctl, runuser,
             os.environ.get("ROAM_TEST_KEEP", "")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)

    def _track(self, proc: subprocess.Popen):
        """Records proc's process group for the watchdog."""
        with open(self.tmp / "pgids", "a") as f:
            f.write(f"{proc.pid}\n")

    def _check_open(self):
        if self._closed:
            raise HarnessError("this Stack is closed")

    # -- logs --------------------------------------------------------------

    def log_files(self) -> dict[str, Path]:
        """Every log file of this stack by name (servers and daemon instances)."""
        files = dict(self._logs)
        for d in self.daemons:
            files[d.log_path.stem] = d.log_path
        return files

    def dump_logs(self, lines: int = 40, title: str = "", file=None):
        """Prints the tail of every log (for failing tests)."""
        file = file or sys.stderr
        print(f"\n===== roamtest logs{': ' + title if title else ''} ({self.tmp}) =====", file=file)
        for name, path in self.log_files().items():
            text = tail(path, lines)
            if text:
                print(f"----- {name} ({path}) -----\n{text}", file=file)
        print("===== end of logs =====", file=file, flush=True)

    # -- PostgreSQL --------------------------------------------------------

    def _as_postgres(self, argv: list[str]) -> list[str]:
        if IS_ROOT:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            return [runuser, "-u", "postgres", "--"] + argv
        return argv

    def _pg_run(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self._as_postgres(argv), cwd=self.tmp, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def start_postgres(self) -> str:
        """Starts PostgreSQL (initdb on the first call; same port and data later).

        Returns the URL of database "roam".
        """
        self._check_open()
        bindir = pg_bindir()
        first = self.pg_data is None
        if first:
            root = self.tmp / "pg"
            self.pg_data = root / "data"
            self.pg_sock = root / "sock"
            self.pg_data.mkdir(parents=True)
            self.pg_sock.mkdir()
            os.chmod(self.pg_data, 0o700)
            if IS_ROOT:
                for p in (root, self.pg_data, self.pg_sock):
                    shutil.chown(p, "postgres", "postgres")
            self._logs["postgres"] = root / "postgres.log"
            res = self._pg_run([str(bindir / "initdb"), "-D", str(self.pg_data), "-A", "trust", "--no-sync",
                                "-U", "postgres", "-E", "UTF8", "--no-locale"])
            if res.returncode != 0:
                raise HarnessError(f"initdb failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        attempts = 5 if self.pg_port is None else 1
        for attempt in range(attempts):
            port = self.pg_port or free_port()
            opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {self.pg_sock} "
                    f"-c fsync=off -c max_connections=200")
            res = self._pg_run([str(bindir / "pg_ctl"), "-D", str(self.pg_data), "-l", str(self._logs["postgres"]),
                                "-w", "-t", "30", "-o", opts, "start"])
            if res.returncode == 0:
                self.pg_port = port
                break
            log = tail(self._logs["postgres"], 20)
            if attempt + 1 < attempts and "could not bind" in log:
                continue
            raise HarnessError(f"pg_ctl start failed ({res.returncode}):\n{res.stdout}\n{res.stderr}\n{log}")
        if first:
            self.psql("CREATE DATABASE roam", db="postgres")
        self.database_url = self.pg_url("roam")
        return self.database_url

    def pg_url(self, db: str = "roam") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{db}"

    def _pg_stop(self, mode: str, check: bool = True):
        res = self._pg_run([str(pg_bindir() / "pg_ctl"), "-D", str(self.pg_data), "-m", mode, "-w", "-t", "30",
                            "stop"])
        if res.returncode != 0:
            pidfile = self.pg_data / "postmaster.pid"
            if pidfile.exists():  # pg_ctl failed while the server runs: kill the postmaster
                try:
                    os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
                except (OSError, ValueError, IndexError):
                    pass
            if check:
                raise HarnessError(f"pg_ctl stop failed ({res.returncode}): {res.stderr}")

    def stop_postgres(self, mode: str = "fast"):
        """Stops PostgreSQL (pg_ctl stop -m mode); start_postgres() brings it back on the same port."""
        if self.pg_data is None:
            raise HarnessError("PostgreSQL was never started")
        self._pg_stop(mode)

    def restart_postgres(self) -> str:
        self.stop_postgres()
        return self.start_postgres()

    def psql(self, sql: str, db: str = "roam") -> list[tuple[str, ...]]:
        """Runs sql with psql and returns the rows as tuples of strings.

        NULL is "" and values must not contain tabs or newlines (use
        row_to_json/json_agg for those). Raises HarnessError on an SQL error.
        """
        if self.pg_port is None:
            raise HarnessError("PostgreSQL was never started")
        argv = [str(pg_bindir() / "psql"), "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                "-d", self.pg_url(db), "-c", sql]
        env = dict(os.environ, PGCONNECT_TIMEOUT="5")
        res = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise HarnessError(f"psql failed ({res.returncode}) for {sql!r}: {res.stderr.strip()}")
        return [tuple(line.split("\t")) for line in res.stdout.splitlines() if line != ""]

    def psql_value(self, sql: str, db: str = "roam") -> str | None:
        """The first column of the first row, or None if there is no row."""
        rows = self.psql(sql, db)
        return rows[0][0] if rows else None

    def create_database(self, name: str) -> str:
        """Creates a fresh database in the same server; returns its URL."""
        self.psql(f'CREATE DATABASE "{name}"', db="postgres")
        return self.pg_url(name)

    # -- Redis -------------------------------------------------------------

    def _start_on_free_port(self, name: str, port: int | None, what: str, argv_for, ready, timeout: float,
                            interval: float) -> int:
        """Spawns argv_for(port) as process name and waits until ready(port). Returns the port.

        With port None it picks a free one and tries again (up to 5 times) if another
        process took it first; with a port (a restart) it must get that one.
        """
        attempts = 5 if port is None else 1
        for attempt in range(attempts):
            p = port or free_port()
            proc = self._spawn(name, argv_for(p))
            try:
                wait_until(lambda: proc.poll() is not None or ready(p), timeout=timeout, interval=interval,
                           message=what)
            except AssertionError:
                _stop_proc(proc)
                raise HarnessError(f"{what} did not answer:\n{tail(self._logs[name])}")
            if proc.poll() is None:
                return p
            if attempt + 1 < attempts and "in use" in tail(self._logs[name], 10):
                continue
            raise HarnessError(f"{what} exited with {proc.returncode}:\n{tail(self._logs[name])}")
        raise AssertionError("unreachable")

    def start_redis(self) -> str:
        """Starts redis-server (same port as before if it was started already). Returns its URL."""
        self._check_open()
        if "redis" in self._procs and self._procs["redis"].poll() is None:
            raise HarnessError("Redis is already running")
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        data = self.tmp / "redis"
        data.mkdir(exist_ok=True)
        port = self._start_on_free_port(
            "redis", self.redis_port, "redis-server",
            lambda port: [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", str(data), "--daemonize", "no"],
            _redis_ping, timeout=10, interval=0.02)
        self.redis_port = port
        self.redis_url = f"redis://127.0.0.1:{port}"
        return self.redis_url

    def stop_redis(self):
        proc = self._procs.pop("redis", None)
        if proc is None:
            raise HarnessError("Redis is not running")
        _stop_proc(proc, timeout=10)

    def restart_redis(self) -> str:
        self.stop_redis()
        return self.start_redis()

    # -- Kafka dev broker --------------------------------------------------

    def start_broker(self, topics=DEFAULT_TOPICS, brokers: int = 1, timeout: float = 20) -> str:
        """Starts roam-kafka-dev-broker; returns the bootstrap address."""
        self._check_open()
        binary = self.binary("kafka-dev-broker")
        info_file = self.tmp / "kafka.json"
        info_file.unlink(missing_ok=True)
        argv = [str(binary), "--brokers", str(brokers), "--control-port", "0", "--info-file", str(info_file)]
        for t in topics:
            argv += ["--topic", t]
        proc = self._spawn("broker", argv)

        def ready():
            if proc.poll() is not None:
                raise HarnessError(f"the Kafka dev broker exited with {proc.returncode}:\n"
                                   f"{tail(self._logs['broker'])}")
            try:
                return json.loads(info_file.read_text())
            except (OSError, ValueError):
                return None

        deadline = time.monotonic() + timeout
        while (info := ready()) is None:
            if time.monotonic() > deadline:
                _stop_proc(proc)
                raise HarnessError(f"the Kafka dev broker wrote no {info_file} within {timeout}s:\n"
                                   f"{tail(self._logs['broker'])}")
            time.sleep(0.05)
        self.kafka_info = info
        self.kafka_brokers = info["bootstrap"]
        self.kafka_control = info["control"].rstrip("/")
        return self.kafka_brokers

    def _broker_control(self, broker_id, action: str):
        if self.kafka_control is None:
            raise HarnessError("the Kafka dev broker was never started")
        r = http("POST", f"{self.kafka_control}/brokers/{broker_id}/{action}")
        if r.status // 100 != 2:
            raise HarnessError(f"broker {broker_id} {action}: {r!r}")
        return r

    def broker_down(self, broker_id="all"):
        return self._broker_control(broker_id, "down")

    def broker_up(self, broker_id="all"):
        return self._broker_control(broker_id, "up")

    def kcat(self, *args: str, input: bytes | None = None, timeout: float = 30) -> bytes:
        """Runs kcat -b <bootstrap> args...; returns stdout; raises HarnessError on failure."""
        argv = ["kcat", "-b", self.kafka_brokers, *args]
        res = subprocess.run(argv, input=input, capture_output=True, timeout=timeout,
                             stdin=None if input is not None else subprocess.DEVNULL)
        if res.returncode != 0:
            raise HarnessError(f"{' '.join(argv)} failed ({res.returncode}): {res.stderr.decode(errors='replace')}")
        return res.stdout

    def kafka_messages(self, topic: str) -> list[dict]:
        """Every message now in topic (kcat -C -e -J): dicts with key, payload, partition, offset..."""
        out = self.kcat("-C", "-t", topic, "-e", "-q", "-J")
        return [json.loads(line) for line in out.decode().splitlines() if line.strip()]

    def kafka_produce(self, topic: str, payload: bytes | str, key: str | None = None):
        """Produces one message (kcat -P); payload must not contain a newline."""
        data = payload.encode() if isinstance(payload, str) else payload
        if b"\n" in data:
            raise ValueError("payload must be one line")
        args = ["-P", "-t", topic]
        if key is not None:
            args += ["-k", key]
        self.kcat(*args, input=data)

    # -- SMTP sink ---------------------------------------------------------

    def start_smtp(self) -> str:
        """Starts an aiosmtpd Mailbox sink; returns smtp://127.0.0.1:PORT."""
        self._check_open()
        port = self._start_on_free_port(
            "smtp", self.smtp_port, "the SMTP sink",
            lambda port: [SYSTEM_PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                          "-c", "aiosmtpd.handlers.Mailbox", str(self.mail_dir)],
            _smtp_banner, timeout=15, interval=0.05)
        self.smtp_port = port
        self.smtp_url = f"smtp://127.0.0.1:{port}"
        return self.smtp_url

    def stop_smtp(self):
        """Stops the SMTP sink; start_smtp() brings it back on the same port with the same Maildir."""
        proc = self._procs.pop("smtp", None)
        if proc is None:
            raise HarnessError("the SMTP sink is not running")
        _stop_proc(proc, timeout=10)

    def mails(self) -> list[email.message.EmailMessage]:
        """Every mail the SMTP sink received, oldest first."""
        if not self.mail_dir.exists():
            return []
        box = mailbox.Maildir(str(self.mail_dir), factory=None, create=False)
        keys = sorted(box.keys())  # Maildir names start with the delivery time
        return [email.message_from_bytes(box.get_bytes(k), policy=email.policy.default) for k in keys]

    # -- daemons -----------------------------------------------------------

    def binary(self, name: str) -> Path:
        """The built binary of a daemon ("auth", "gateway", "testd", "kafka-dev-broker")."""
        if name == "gateway":
            path = self.build_dir / "gateway" / "roam-gateway"
        elif name == "testd":
            path = self.build_dir / "tests" / "support" / "testd" / "roam-testd"
        elif name == "kafka-dev-broker":
            path = self.build_dir / "deploy" / "dev" / "kafka-broker" / "roam-kafka-dev-broker"
        elif name in SERVICES:
            path = self.build_dir / "services" / name / f"roam-{name}"
        else:
            raise ValueError(f"unknown daemon {name!r}")
        if not path.exists():
            raise HarnessError(f"{path} does not exist: build first (cmake --build {self.build_dir})")
        return path

    def jwt_key_file(self) -> Path:
        """This stack's EC P-256 private key PEM (PKCS#8, mode 0600) for the auth service, made once."""
        if self._jwt_key_file is None:
            path = self.tmp / "jwt-signing-key.pem"
            res = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                                  "-out", str(path)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if res.returncode != 0:
                raise HarnessError(f"openssl genpkey failed ({res.returncode}): {res.stderr}")
            os.chmod(path, 0o600)
            self._jwt_key_file = path
        return self._jwt_key_file

    def daemon_env(self, name: str, port: int, overrides: dict | None = None) -> dict:
        """The environment a daemon gets: this process's (minus ROAM_*), the stack's servers,
        the stack's internal secret, the URLs of daemons started before, for auth the
        stack's signing key (unless overrides name one), then overrides (None deletes a variable)."""
        overrides = overrides or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROAM_")}
        env.update(ROAM_HTTP_ADDR="127.0.0.1", ROAM_HTTP_PORT=str(port),
                   ROAM_LOG_LEVEL=os.environ.get("ROAM_TEST_LOG_LEVEL", "debug"),
                   ROAM_INTERNAL_SECRET=self.internal_secret)
        if name == "auth" and not {"ROAM_JWT_PRIVATE_KEY_FILE", "ROAM_JWT_PRIVATE_KEY"} & set(overrides):
            env["ROAM_JWT_PRIVATE_KEY_FILE"] = str(self.jwt_key_file())
        if self.database_url:
            env["ROAM_DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["ROAM_REDIS_URL"] = self.redis_url
        if self.kafka_brokers:
            env["ROAM_KAFKA_BROKERS"] = self.kafka_brokers
        if self.smtp_url:
            env["ROAM_SMTP_URL"] = self.smtp_url
        for d in self.daemons:  # later instances of a name win
            if d.running and d.name != "testd":
                env[f"ROAM_{d.name.upper()}_URL"] = d.url
        _apply_env(env, overrides)
        return env

    def start_daemon(self, name: str, env: dict | None = None, wait_ready: bool = True, timeout: float = 20,
                     port: int | None = None, wait: bool = True) -> Daemon:
        """Starts a daemon and waits for /healthz 200 (and /readyz 200 if wait_ready).

        With wait=False returns at once (call .wait_healthy() later). Raises
        HarnessError with the last log lines if it exits or does not get ready.
        """
        self._check_open()
        binary = self.binary(name)
        attempts = 1 if port is not None or not wait else 4
        for attempt in range(attempts):
            p = port or free_port()
            n = sum(1 for d in self.daemons if d.name == name) + 1
            log_path = self.log_dir / (f"{name}.log" if n == 1 else f"{name}-{n}.log")
            d = Daemon(self, name, binary, p, self.daemon_env(name, p, env), log_path)
            self.daemons.append(d)
            d._spawn()
            if not wait:
                return d
            try:
                return d.wait_healthy(ready=wait_ready, timeout=timeout)
            except HarnessError:
                if attempt + 1 < attempts and d.proc.poll() is not None and d._bind_failed():
                    continue  # lost the race for the port: try another one
                raise
        raise AssertionError("unreachable")

    def daemon(self, name: str) -> Daemon:
        """The most recently started running instance of name."""
        for d in reversed(self.daemons):
            if d.name == name and d.running:
                return d
        raise KeyError(name)


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _smtp_banner(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            ok = s.recv(128).startswith(b"220")
            s.sendall(b"QUIT\r\n")
            return ok
    except OSError:
        return False


# --------------------------------------------------------------------------
# unittest glue
# --------------------------------------------------------------------------


class StackTestCase(unittest.TestCase):
    """A TestCase with one Stack per class.

    Subclasses define `setUpStack(cls, stack)` (a classmethod) to start what
    they need. When a test fails, the tail of every log is printed.
    """

    stack: Stack | None = None

    @classmethod
    def setUpStack(cls, stack: Stack):
        pass

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack = Stack()
        try:
            cls.setUpStack(cls.stack)
        except BaseException:
            cls.stack.dump_logs(title=f"{cls.__name__} set-up failed")
            cls.stack.close()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.stack is not None:
            cls.stack.close()
        super().tearDownClass()

    def run(self, result=None):
        def problems(r):
            return len(r.failures) + len(r.errors) + len(getattr(r, "unexpectedSuccesses", []))

        before = problems(result) if result is not None else 0
        out = super().run(result)
        r = result if result is not None else out
        if r is not None and problems(r) > before and self.stack is not None and not self.stack._closed:
            self.stack.dump_logs(title=self.id())
        return out
