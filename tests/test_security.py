"""What keeps a sandbox on a laptop safe: servers on 127.0.0.1 unless asked otherwise, a random
admin token per fleet, model artifacts that are data only, and nothing from input evaluated."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox import run_deployment
from sandbox.core.models import load_model
from sandbox.errors import InvalidModel
from sandbox.live.fleet import LiveFleet
from sandbox.live.server import address, exposed
from sandbox.live.server import url as server_url

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sandbox"


def test_servers_listen_on_this_machine_only_by_default():
    with LiveFleet(["us-east-1", "eu-west-1"], time_scale=0.01) as fleet:
        for url in [fleet.gateway_url, *fleet.urls.values()]:
            assert url.startswith("http://127.0.0.1:")
        for server in fleet._servers:
            assert server._server.socket.getsockname()[0] == "127.0.0.1"


def test_another_host_is_a_choice_that_warns():
    fleet = LiveFleet(["us-east-1"], time_scale=0.01, host="0.0.0.0")
    with pytest.warns(UserWarning, match="0.0.0.0: reachable from other machines"), fleet:
        assert fleet.gateway_url.startswith("http://0.0.0.0:")


@pytest.mark.parametrize("host", ["127.0.0.2", "localhost"])
def test_loopback_hosts_work_and_do_not_warn(host):
    with LiveFleet(["us-east-1", "eu-west-1"], time_scale=0.01, host=host) as fleet:
        d = run_deployment(["us-east-1", "eu-west-1"], "model_v1", backend=fleet)
        assert d.outcome == "complete"
        answer = requests.post(
            f"{fleet.gateway_url}/v1/models/model_v1:predict",
            json={"instances": [[12.0, 70.0, 1.0]]},
            headers={"X-Client-Region": "eu-west-2"},
            timeout=5,
        )
        assert answer.status_code == 200 and answer.headers["X-Served-By"] == "eu-west-1"


def test_serve_on_another_host_says_so_on_stderr():
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--regions", "us-east-1", "--host", "0.0.0.0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        ready = json.loads(process.stdout.readline())
        assert ready["gateway"].startswith("http://0.0.0.0:")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert stderr.startswith("Warning: serving on 0.0.0.0: reachable from other machines")


@pytest.mark.parametrize(
    ("host", "url", "warns"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080", False),
        ("::1", "http://[::1]:8080", False),
        ("[::1]", "http://[::1]:8080", False),
        ("::", "http://[::]:8080", True),
        ("0.0.0.0", "http://0.0.0.0:8080", True),
        ("example.org", "http://example.org:8080", True),
    ],
)
def test_ipv6_addresses_get_brackets_and_only_loopback_is_quiet(host, url, warns):
    assert server_url(host, 8080) == url
    assert address(url) == (host.strip("[]"), 8080)
    assert (exposed(host) is not None) == warns


def test_each_fleet_has_a_random_admin_token_of_its_own():
    tokens = {LiveFleet(["us-east-1"]).admin_token for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(token) >= 32 for token in tokens)


def test_the_admin_api_refuses_another_fleets_token():
    with (
        LiveFleet(["us-east-1"], time_scale=0.01) as one,
        LiveFleet(["us-east-1"], time_scale=0.01) as other,
    ):
        url = f"{one.urls['us-east-1']}/admin/faults"
        for token in (other.admin_token, one.admin_token[:-1], ""):
            answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
            assert answer.status_code == 401
        assert requests.get(url, headers={"Authorization": f"Bearer {one.admin_token}"}).ok


@pytest.mark.parametrize(
    "content",
    [
        b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00.",  # a pickle
        b"!!python/object/apply:os.system ['touch owned']",  # YAML's code execution
        json.dumps({"name": "__import__('os').system('touch owned')", "version": "1"}).encode(),
    ],
)
def test_model_artifacts_are_json_data_only(tmp_path, monkeypatch, content):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(InvalidModel):
        load_model(path)
    assert not (tmp_path / "owned").exists()


BUILTINS = {"eval", "exec", "compile", "__import__"}
MODULES = {"pickle", "marshal", "shelve", "dill", "yaml"}


def test_nothing_from_input_is_evaluated():
    """No code path evaluates text: no eval/exec, no pickle or YAML loading, no shell."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                builtin = isinstance(node.func, ast.Name) and node.func.id in BUILTINS
                literal = isinstance(node.func, ast.Attribute) and node.func.attr == "literal_eval"
                assert not (builtin or literal), f"{path}:{node.lineno} evaluates text"
                for keyword in node.keywords:
                    shell = keyword.arg == "shell" and getattr(keyword.value, "value", False)
                    assert not shell, f"{path}:{node.lineno} runs a shell"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = {a.name.split(".")[0] for a in node.names}
                if isinstance(node, ast.ImportFrom) and node.module:
                    names.add(node.module.split(".")[0])
                assert not names & MODULES, f"{path}:{node.lineno} imports {names & MODULES}"
