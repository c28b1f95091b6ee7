"""The class server's files: the HAProxy template and its renderer, the compose file, the launcher's
refusals and `make class`'s command. The proxy itself, with browsers, is tested in
tests/browser/test_class_server.py. No Docker engine runs here: the compose file is checked by
reading it (every reference resolves, the proxy mounts the very template `make class` renders).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _launcher():
    spec = importlib.util.spec_from_file_location("class_server", DEPLOY / "class_server.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class_server = _launcher()


def _haproxy() -> str:
    path = class_server.find_haproxy()
    if path is None:
        pytest.fail(
            "HAProxy is not installed: run `sudo apt-get install haproxy` (.ci/run does this). "
            "The class server's tests never skip without it.",
            pytrace=False,
        )
    return path


def render(backends: str) -> str:
    env = {**os.environ, "CNNVIZ_BACKENDS": backends}
    return subprocess.run(
        ["sh", str(class_server.RENDER), str(class_server.TEMPLATE)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_render_writes_one_server_line_per_backend_in_order(tmp_path):
    text = render("127.0.0.1:9001  10.0.0.7:8501 app3:8501")
    servers = re.findall(r"^\s+server (\S+) (\S+) cookie (\S+)$", text, re.M)
    assert servers == [
        ("app1", "127.0.0.1:9001", "app1"),
        ("app2", "10.0.0.7:8501", "app2"),
        ("app3", "app3:8501", "app3"),
    ]
    assert all(line.strip() != "#@servers" for line in text.splitlines())
    # everything else is the template, line for line
    template = class_server.TEMPLATE.read_text().splitlines()
    rest = [line for line in text.splitlines() if not re.match(r"\s+server ", line)]
    assert rest == [line for line in template if line.strip() != "#@servers"]


def test_rendered_config_is_valid_and_says_what_a_class_needs(tmp_path):
    text = render("127.0.0.1:9001 127.0.0.1:9002")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    env = {**os.environ, "CNNVIZ_BIND": "127.0.0.1:9999"}
    check = subprocess.run(
        [_haproxy(), "-c", "-f", str(cfg)], env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    rules = {line.strip() for line in text.splitlines() if not line.lstrip().startswith("#")}
    # sticky per browser by a cookie, never per source IP (a class shares one NAT'd address)
    assert any(r.startswith("cookie SRV insert indirect nocache") for r in rules)
    assert not any(r.startswith(("balance source", "stick on src", "hash-type")) for r in rules)
    assert "http-check send meth GET uri /_stcore/health" in rules
    assert any(re.fullmatch(r"timeout tunnel \d+h", r) for r in rules)


def test_render_without_backends_says_what_to_set():
    env = {k: v for k, v in os.environ.items() if k != "CNNVIZ_BACKENDS"}
    out = subprocess.run(["sh", str(class_server.RENDER)], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "CNNVIZ_BACKENDS" in out.stderr


def test_compose_file_references_resolve_and_mount_the_same_template():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    apps = sorted(name for name in services if name != "proxy")
    assert apps == [f"app{i}" for i in range(1, len(apps) + 1)] and len(apps) >= 2
    proxy = services["proxy"]

    # the proxy's backends are exactly the app services, on the image's port
    backends = proxy["environment"]["CNNVIZ_BACKENDS"].split()
    assert backends == [f"{name}:8501" for name in apps]
    assert sorted(proxy["depends_on"]) == apps
    assert all(d["condition"] == "service_healthy" for d in proxy["depends_on"].values())
    assert proxy["environment"]["CNNVIZ_BIND"].endswith(":8501")
    assert any(str(p).endswith(":8501") for p in proxy["ports"])

    # it mounts the very files `make class` uses, and its entrypoint renders and runs them
    mounts = {}
    for volume in proxy["volumes"]:
        source, target, *_ = volume.split(":")
        mounts[target] = (DEPLOY / source).resolve()
    by_file = {path: target for target, path in mounts.items()}
    assert class_server.TEMPLATE.resolve() in by_file
    assert class_server.RENDER.resolve() in by_file
    command = " ".join(proxy["entrypoint"])
    assert (
        f"{by_file[class_server.RENDER.resolve()]} {by_file[class_server.TEMPLATE.resolve()]}"
        in command
    )
    assert re.search(r"exec haproxy .*-f (\S+)", command).group(1) in command.split(">")[1]

    # every app: the repository's Dockerfile, runs/ on the shared volume, CNNVIZ_RUNS there
    named = set(compose["volumes"])
    for name in apps:
        app = services[name]
        context = (DEPLOY / app["build"]["context"]).resolve()
        assert context == ROOT and (context / "Dockerfile").is_file()
        runs_mounts = [v.split(":") for v in app["volumes"]]
        assert all(source in named for source, *_ in runs_mounts)
        targets = {target for _, target, *_ in runs_mounts}
        assert app["environment"]["CNNVIZ_RUNS"] in targets
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "EXPOSE 8501" in dockerfile and "/_stcore/health" in dockerfile
    # the Explore page's nets are made in the image, as the user who serves, where it looks
    user = dockerfile.index("USER cnnviz")
    assert dockerfile.index("RUN python -m cnnviz pretrain") > user
    assert "CNNVIZ_CACHE" not in dockerfile  # ~/.cache/cnnviz of that user


def test_launcher_without_haproxy_names_the_one_command(tmp_path):
    env = {**os.environ, "CNNVIZ_HAPROXY": str(tmp_path / "no-haproxy")}
    out = subprocess.run(
        [sys.executable, str(DEPLOY / "class_server.py"), "--workers", "1", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "HAProxy is not installed: run `sudo apt-get install haproxy`, then `make class`."
    )
    assert "starting" not in out.stdout  # refused before starting any app process


@pytest.mark.parametrize(
    "variables, args",
    [
        ([], ""),
        (["WORKERS=3"], " --workers 3"),
        (
            ["WORKERS=0", "BACKENDS=10.0.0.5:8501 10.0.0.6:8501"],
            ' --workers 0 --backends "10.0.0.5:8501 10.0.0.6:8501"',
        ),
    ],
)
def test_make_class_runs_the_launcher(variables, args):
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", "class", "PORT=8600", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    command = " ".join(out.stdout.replace("\\\n", " ").split())
    assert command.endswith(f"python deploy/class_server.py --port 8600{args}"), command


def test_every_app_process_gets_the_same_teacher_key(monkeypatch):
    """`make class` makes one random teacher key (a key the user set wins) and passes it to every
    app process in the environment, never as an argument (`ps` shows those)."""
    monkeypatch.delenv("CNNVIZ_TEACHER_KEY", raising=False)
    key = class_server.teacher_key()
    assert len(key) >= 16 and key != class_server.teacher_key()
    apps = [class_server.app_child(i, 9000 + i, "secret", key) for i in (1, 2)]
    assert {a.env["CNNVIZ_TEACHER_KEY"] for a in apps} == {key}
    assert not any(key in arg for a in apps for arg in a.cmd)
    monkeypatch.setenv("CNNVIZ_TEACHER_KEY", "chosen-by-me")
    assert class_server.teacher_key() == "chosen-by-me"
