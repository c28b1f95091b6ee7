"""`make class`: one cnnviz process per core behind HAProxy, on one public port.

One Streamlit process runs every user's reruns under one GIL, so a class of 30 on one process
waits seconds per slider move. This starts WORKERS app processes on loopback ports, renders
deploy/haproxy.cfg with deploy/haproxy-render.sh (the same template and renderer compose.yaml
uses), waits until the proxy answers, prints the addresses, and on Ctrl+C (or SIGTERM, or a
closed terminal) stops everything it started. Each child also gets SIGTERM from the kernel if
this launcher dies without cleaning up (PR_SET_PDEATHSIG), so nothing is left behind.

Standard library only: it runs with the project's venv python, before any page is imported.
"""

from __future__ import annotations

import argparse
import ctypes
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
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
TEMPLATE = DEPLOY / "haproxy.cfg"
RENDER = DEPLOY / "haproxy-render.sh"
HAPROXY_INSTALL = "sudo apt-get install haproxy"
STARTUP_TIMEOUT = 180.0  # seconds for every app process to answer /_stcore/health
MAX_RESTARTS = 3  # per app process, then it stays down and the others carry the class


class LaunchError(RuntimeError):
    """Something the teacher can fix, said in one sentence."""


@dataclass
class Child:
    name: str
    cmd: list[str]
    env: dict[str, str]
    addr: str = ""
    proc: subprocess.Popen | None = None
    restarts: int = 0
    threads: list[threading.Thread] = field(default_factory=list)


def find_haproxy() -> str | None:
    """HAProxy's path: CNNVIZ_HAPROXY if set, else on PATH, else Debian's /usr/sbin (not on a
    normal user's PATH)."""
    if "CNNVIZ_HAPROXY" in os.environ:
        path = os.environ["CNNVIZ_HAPROXY"]
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    found = shutil.which("haproxy")
    if found:
        return found
    return "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None


def cpu_count() -> int:
    """The cores this process may run on (what `nproc` prints)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    """Does `url`/_stcore/health answer "ok"?"""
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=3) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def render_config(backends: list[str], out: Path) -> None:
    """deploy/haproxy.cfg with one server line per backend, written to `out`."""
    env = {**os.environ, "CNNVIZ_BACKENDS": " ".join(backends)}
    text = subprocess.run(
        ["sh", str(RENDER), str(TEMPLATE)], env=env, check=True, capture_output=True, text=True
    ).stdout
    out.write_text(text, encoding="utf-8")


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the launcher dies, even by SIGKILL (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _pump(child: Child, stream) -> None:
    """Copy a child's output to ours, each line prefixed with its name."""
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{child.name:>6} | {line.decode('utf-8', 'replace')}")
        sys.stdout.flush()
    stream.close()


def start(child: Child) -> None:
    child.proc = subprocess.Popen(
        child.cmd,
        cwd=ROOT,
        env=child.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: Ctrl+C reaches us, we stop it in order
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    t = threading.Thread(target=_pump, args=(child, child.proc.stdout), daemon=True)
    t.start()
    child.threads.append(t)


def stop(child: Child, timeout: float = 10.0) -> None:
    """SIGTERM to the child's whole process group (its own children too), then SIGKILL."""
    proc = child.proc
    if proc is None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; the group may still hold its children (e.g. training workers).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        break
    proc.wait()


def teacher_key() -> str:
    """The class's teacher key: CNNVIZ_TEACHER_KEY when the user set one, else a new random one
    (a session that opens the teacher link with it sees every run and publishes them)."""
    return os.environ.get("CNNVIZ_TEACHER_KEY") or secrets.token_urlsafe(12)


def app_child(i: int, port: int, cookie_secret: str, teacher: str) -> Child:
    """`streamlit run app.py` on 127.0.0.1:port, with the settings of .streamlit/config.toml."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("CNNVIZ_RUNS", str(ROOT / "runs"))  # every process lists the same runs
    # The same secret in every process: a cookie signed by one is valid in the others. (An
    # environment variable, not an argument: `ps` shows arguments to every user.)
    env["STREAMLIT_SERVER_COOKIE_SECRET"] = cookie_secret
    env["CNNVIZ_TEACHER_KEY"] = teacher  # the same in every process, never in `ps`
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.headless=true",
    ]
    return Child(f"app{i}", cmd, env, addr=f"127.0.0.1:{port}")


def network_addresses() -> list[str]:
    """This machine's IPv4 LAN addresses (what students type; the proxy listens on 0.0.0.0),
    without asking the internet."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return []
    return [a for a in out.stdout.split() if ":" not in a]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env_workers = os.environ.get("WORKERS") or None
    p.add_argument(
        "--workers",
        type=int,
        default=int(env_workers) if env_workers else None,
        help="app processes to start (default: one per core; env WORKERS)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 8501),
        help="the one public port (default 8501; env PORT)",
    )
    p.add_argument(
        "--address", default="0.0.0.0", help="where the proxy listens (default all interfaces)"
    )
    p.add_argument(
        "--backends",
        default=os.environ.get("BACKENDS", ""),
        help="more app servers already running elsewhere, 'host:port host:port' "
        "(env BACKENDS): the class is spread over them too",
    )
    args = p.parse_args(argv)
    if args.workers is None:
        args.workers = cpu_count()
    if args.workers < 0 or (args.workers == 0 and not args.backends.split()):
        p.error("WORKERS must be at least 1 (or 0 with BACKENDS= other machines)")
    return args


def run(args: argparse.Namespace) -> int:
    haproxy = find_haproxy()
    if haproxy is None:
        raise LaunchError(f"HAProxy is not installed: run `{HAPROXY_INSTALL}`, then `make class`.")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((args.address, args.port))
        except OSError as err:
            raise LaunchError(
                f"Port {args.port} is busy ({err.strerror}): stop what uses it, or run "
                f"`PORT={args.port + 1} make class`."
            ) from None

    secret, teacher = secrets.token_hex(32), teacher_key()
    apps = [app_child(i + 1, free_port(), secret, teacher) for i in range(args.workers)]
    workdir = Path(tempfile.mkdtemp(prefix="cnnviz-class-"))
    children: list[Child] = []
    try:
        for app in apps:
            start(app)
            children.append(app)
        print(f"starting {len(apps)} app processes (one per core)...", flush=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for app in apps:
            while not healthy(f"http://{app.addr}"):
                if app.proc.poll() is not None:
                    raise LaunchError(
                        f"{app.name} exited with code {app.proc.returncode} "
                        "while starting; its output is above."
                    )
                if time.monotonic() > deadline:
                    raise LaunchError(f"{app.name} did not answer within {STARTUP_TIMEOUT:.0f} s.")
                time.sleep(0.3)

        backends = [a.addr for a in apps] + args.backends.split()
        config = workdir / "haproxy.cfg"
        render_config(backends, config)
        env = {**os.environ, "CNNVIZ_BIND": f"{args.address}:{args.port}"}
        check = subprocess.run(
            [haproxy, "-c", "-q", "-f", str(config)], env=env, capture_output=True, text=True
        )
        if check.returncode != 0:
            raise LaunchError(f"HAProxy refused {config}: {check.stderr.strip()}")
        proxy = Child("proxy", [haproxy, "-db", "-f", str(config)], env)
        start(proxy)
        children.append(proxy)

        host = "127.0.0.1" if args.address in ("0.0.0.0", "::") else args.address
        public = f"http://{host}:{args.port}"
        deadline = time.monotonic() + 30
        while not healthy(public):
            if proxy.proc.poll() is not None:
                raise LaunchError(
                    f"HAProxy exited with code {proxy.proc.returncode}; its output is above."
                )
            if time.monotonic() > deadline:
                raise LaunchError(f"HAProxy did not answer on {public} within 30 s.")
            time.sleep(0.2)

        for app in apps:
            print(f"{app.name} on {app.addr} (pid {app.proc.pid})")
        for i, extra in enumerate(args.backends.split(), start=len(apps) + 1):
            print(f"app{i} on {extra} (another machine)")
        print(f"proxy pid {proxy.proc.pid}, config {config}")
        shown = "localhost" if args.address in ("0.0.0.0", "::") else args.address
        print(f"cnnviz class server on http://{shown}:{args.port}")
        ips = network_addresses()[:3] if args.address in ("0.0.0.0", "::") else []
        for ip in ips:
            print(f"on this network: http://{ip}:{args.port}")
        print(
            f"teacher link (keep it to yourself: it publishes runs to the class): "
            f"http://{ips[0] if ips else shown}:{args.port}/train?teacher={teacher}"
        )
        print("Ctrl+C stops it.", flush=True)
        return supervise(apps, proxy)
    finally:
        # A second Ctrl+C must not cut the cleanup short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        for child in reversed(children):  # the proxy first, then the apps
            stop(child)
        shutil.rmtree(workdir, ignore_errors=True)


def supervise(apps: list[Child], proxy: Child) -> int:
    """Wait; restart an app process that dies (a few times); end if the proxy dies."""
    while True:
        time.sleep(1.0)
        if proxy.proc.poll() is not None:
            print(f"HAProxy exited with code {proxy.proc.returncode}; stopping.", flush=True)
            return 1
        for app in apps:
            code = app.proc.poll()
            if code is None or app.restarts > MAX_RESTARTS:
                continue
            if app.restarts == MAX_RESTARTS:
                print(f"{app.name} exited again (code {code}); the other processes carry on.")
                app.restarts += 1
                continue
            app.restarts += 1
            print(f"{app.name} exited (code {code}); restarting it.", flush=True)
            stop(app)
            start(app)


class Stop(Exception):
    """Ctrl+C, SIGTERM or a closed terminal: stop everything, a normal end."""


def _stop_signal(signum: int, _frame) -> None:
    raise Stop(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Explicitly, also for SIGINT: a shell without job control starts background commands with
    # SIGINT ignored, and Python then never raises KeyboardInterrupt.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop_signal)
    try:
        return run(args)
    except LaunchError as err:
        print(err, file=sys.stderr)
        return 1
    except Stop:
        print("\nstopped.", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
