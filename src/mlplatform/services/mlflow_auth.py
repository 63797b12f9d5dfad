"""Accounts on the team MLflow server: its basic-auth app (``mlflow server --app-name
basic-auth``), the accounts ``mlp up`` makes, and who a client is.

The server keeps its accounts in a SQLite file in its state folder (``mlflow/basic_auth.db``):
one worker writes it, it lives and dies with the rest of the stack's state, and no second
PostgreSQL database has to exist before the server's first start. Its admin account
(``mlplatform-admin``, never MLflow's ``admin``) gets a random password from
``credentials.json`` through ``MLFLOW_AUTH_ADMIN_PASSWORD`` (never on a command line, never in
the ini file). ``ensure_users`` then makes one account per ``[services] users`` name with the
password kept in ``credentials.json`` (the file is authoritative: a password that no longer
authenticates is set back to the file's). Every account gets ``MANAGE`` as the default
permission: MLflow's permissions cannot express the governance rules (who may approve, what
production needs), so the platform's rules enforce them, and the server's part is identity.

Unprotected routes: ``/health`` (the supervisor's health check) and ``/static``. ``/metrics``
needs an account: the Prometheus scrape job uses the admin's (``prometheus.py``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mlplatform.errors import ConfigError, ServiceError
from mlplatform.services.credentials import CREDENTIALS_FILE, Credentials

__all__ = [
    "AUTH_DB",
    "DEFAULT_PERMISSION",
    "PASSWORD_ENV",
    "USERNAME_ENV",
    "admin_env",
    "auth_ini",
    "authenticated_user",
    "client_credentials",
    "ensure_users",
    "logged_in",
    "user_env",
]

USERNAME_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
AUTH_DB = "basic_auth.db"
DEFAULT_PERMISSION = "MANAGE"  # register, tag, move and delete aliases; the rules do the rest
_USERS = "/api/2.0/mlflow/users"


def admin_env(creds: Credentials) -> dict[str, str]:
    """``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` of the server's admin
    account, for processes ``mlp up`` starts that talk to the server."""
    return {USERNAME_ENV: creds.mlflow_admin_user, PASSWORD_ENV: creds.mlflow_admin_password}


def user_env(creds: Credentials, name: str) -> dict[str, str]:
    """The tracking credentials of the account ``name`` that ``mlp up`` made."""
    if name not in creds.mlflow_users:
        raise ConfigError(
            f"`mlp up` made no MLflow account for {name!r}",
            "Add the name to `users` under [services] in mlplatform.toml "
            "(or MLPLATFORM_SERVICES__USERS) and run `mlp down && mlp up`.",
        )
    return {USERNAME_ENV: name, PASSWORD_ENV: creds.mlflow_users[name]}


def auth_ini(database: Path, admin_user: str) -> str:
    """The basic-auth app's config file (``MLFLOW_AUTH_CONFIG_PATH``); no password in it."""
    return (
        "[mlflow]\n"
        f"default_permission = {DEFAULT_PERMISSION}\n"
        f"database_uri = sqlite:///{database}\n"
        f"admin_username = {admin_user}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )


def ensure_users(url: str, creds: Credentials, users: Iterable[str]) -> list[str]:
    """Make an account for each of ``users`` (password from ``creds``) unless one exists
    that the password opens; returns the names made or reset. Idempotent."""
    admin = (creds.mlflow_admin_user, creds.mlflow_admin_password)
    changed: list[str] = []
    for name in users:
        password = creds.mlflow_users[name]
        if _status(url, "GET", f"{_USERS}/current", (name, password)) == 200:
            continue
        exists = _status(url, "GET", f"{_USERS}/get?username={quote(name)}", admin) == 200
        if exists:
            body = {"username": name, "password": password}
            _call(url, "PATCH", f"{_USERS}/update-password", admin, body)
        else:
            _call(url, "POST", f"{_USERS}/create", admin, {"username": name, "password": password})
        changed.append(name)
    return changed


def authenticated_user(url: str, username: str, password: str | None) -> str | None:
    """The account the server authenticates with these credentials (None: it refuses them).

    Raises:
        ServiceError: the server did not answer.
    """
    if not password:
        return None
    try:
        body = _request(url, "GET", f"{_USERS}/current", (username, password))
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            return None
        raise _unreachable(url, exc) from exc
    except OSError as exc:
        raise _unreachable(url, exc) from exc
    return str(body["user"]["username"])


def client_credentials(
    user: str, services_home: Path, environ: Mapping[str, str]
) -> tuple[str, str | None]:
    """The team profile's MLflow credentials for ``user``: the password from
    ``MLFLOW_TRACKING_PASSWORD`` (unless ``MLFLOW_TRACKING_USERNAME`` names someone else), else
    the one ``mlp up`` keeps for ``user`` in ``credentials.json``; None when neither has one."""
    env_user = environ.get(USERNAME_ENV)
    if environ.get(PASSWORD_ENV) and env_user in (None, "", user):
        return user, environ[PASSWORD_ENV]
    path = services_home / CREDENTIALS_FILE
    try:
        users = json.loads(path.read_text()).get("mlflow_users", {})
    except (OSError, ValueError):
        users = {}
    return user, users.get(user)


def _call(url: str, method: str, path: str, auth: tuple[str, str], body: Any) -> None:
    try:
        _request(url, method, path, auth, body)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise ServiceError(
            f"the MLflow server refused `{method} {path}` for its admin account "
            f"({exc.code}: {detail})",
            f"If the state folder's credentials.json was replaced, remove the server's account "
            f"store ({AUTH_DB} in the mlflow state folder) and run `mlp down && mlp up`.",
        ) from exc


def _status(url: str, method: str, path: str, auth: tuple[str, str]) -> int | None:
    try:
        _request(url, method, path, auth)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    return 200


def _request(url: str, method: str, path: str, auth: tuple[str, str], body: Any = None) -> Any:
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as resp:
        text = resp.read().decode()
    return json.loads(text) if text.strip() else {}


def _unreachable(url: str, exc: Exception) -> ServiceError:
    return ServiceError(
        f"the MLflow server at {url} did not answer who you are ({exc})",
        "Check it with `mlp status`; start it with `mlp up`.",
    )


@contextlib.contextmanager
def logged_in(env: Mapping[str, str]) -> Iterator[None]:
    """MLflow clients of this process log in with ``env`` (``admin_env``, ``user_env``:
    ``MLFLOW_TRACKING_USERNAME`` / ``_PASSWORD``) for the block; the variables are put back
    as they were afterwards."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
