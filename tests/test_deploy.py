"""``deploy/``: the compose file cannot be run here (images cannot be pulled), so it is checked as a
file: it parses, it has exactly the services the README's deployment table describes, each role
runs a command the ``app`` CLI has, beat is single, production's required settings are given, and
the proxy reaches the web service (issue 16, item 3)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from typer.main import get_command

from app.cli import cli, default_web_workers
from app.config import AppEnv, Settings

ROOT = Path(__file__).resolve().parent.parent
APP_ROLES = ("migrate", "web", "worker", "beat")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    return loaded


def readme_services() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## 部署 / Deployment (`deploy/`)", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z]+)` \|", section, flags=re.MULTILINE))


def test_the_compose_file_has_every_service_the_readme_describes_and_no_other() -> None:
    assert readme_services() == set(compose()["services"]) == {
        "postgres",
        "redis",
        "migrate",
        "web",
        "worker",
        "beat",
        "proxy",
    }


def test_each_role_runs_a_command_of_the_app_cli_from_one_image() -> None:
    services = compose()["services"]
    commands = set(get_command(cli).commands)  # type: ignore[attr-defined]
    for role in APP_ROLES:
        service = services[role]
        assert service["image"] == "nanling-platform:latest" and service["build"]["context"] == ".."
        assert service["command"][0] in commands, (role, service["command"])
    assert services["web"]["command"][:1] == ["serve"] and "--no-worker" in services["web"]["command"]
    assert services["beat"]["command"] == ["beat"] and services["beat"]["deploy"]["replicas"] == 1
    assert "--beat" not in services["worker"]["command"]  # beat runs once, in its own service


def test_the_app_services_have_the_settings_production_requires() -> None:
    services = compose()["services"]
    for role in APP_ROLES:
        env = services[role]["environment"]
        assert env["APP_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["PUBLIC_BASE_URL"].startswith("https://")
        # What the file leaves to deploy/.env, filled in as an operator would: production starts.
        filled = {k: v.replace("${DOMAIN:?set DOMAIN}", "shop.example.cn") for k, v in env.items()}
        Settings.model_validate(
            {
                "app_env": filled["APP_ENV"],
                "database_url": "postgresql://nanling:secret@postgres:5432/nanling",
                "secret_key": "x" * 40,
                "public_base_url": filled["PUBLIC_BASE_URL"],
                "celery_broker_url": filled["CELERY_BROKER_URL"],
            }
        )
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {"uploads:/data"} <= set(services["web"]["volumes"]) & set(services["worker"]["volumes"])


def test_the_proxy_terminates_tls_for_the_domain_and_reaches_the_web_service() -> None:
    proxy = compose()["services"]["proxy"]
    assert {"80:80", "443:443"} <= set(proxy["ports"])
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "{$DOMAIN}" in caddyfile and "reverse_proxy web:8000" in caddyfile


def test_serve_runs_one_web_process_per_core_in_production_and_one_elsewhere() -> None:
    production = Settings.model_construct(app_env=AppEnv.production)
    assert default_web_workers(production, cores=4) == 4
    assert default_web_workers(production, cores=1) == 1
    assert default_web_workers(Settings.model_construct(app_env=AppEnv.demo), cores=4) == 1
