"""Prompt templates in MLflow's prompt registry: versioned, moved by alias, loaded by URI.

A prompt is a text template or a list of chat messages whose ``{{variables}}`` ``format``
fills in. Registering a template makes a new version unless it equals the newest one (then
that version is returned: registering is idempotent, like ``register_llm``). Prompts are
named by the model-reference grammar (``mlplatform.grammar.model_ref``) under MLflow's own
scheme: ``prompts:/NAME@ALIAS``, ``prompts:/NAME/VERSION`` (``NAME@ALIAS`` and
``NAME/VERSION`` alone mean the same).

Example::

    v1 = register_prompt("support", "Answer briefly: {{question}}", tracking_uri=uri)
    set_prompt_alias("support", "production", v1.version, tracking_uri=uri)
    prompt = load_prompt("prompts:/support@production", tracking_uri=uri)
    prompt.format(question="What is MLflow?")

``demo_prompt`` is what ``mlp llm demo`` sends its questions with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplatform.errors import RegistryError
from mlplatform.grammar import ModelRef, parse_model_ref

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import PromptVersion

__all__ = [
    "DEMO_ALIAS",
    "DEMO_PROMPT",
    "DEMO_TEMPLATE",
    "PROMPTS_SCHEME",
    "Template",
    "demo_prompt",
    "load_prompt",
    "prompt_uri",
    "register_prompt",
    "set_prompt_alias",
]

PROMPTS_SCHEME = "prompts:/"
Template = str | list[dict[str, Any]]

DEMO_PROMPT = "llm-demo-chat"
DEMO_ALIAS = "production"
DEMO_TEMPLATE: list[dict[str, Any]] = [
    {"role": "system", "content": "You are the {{team}} team's assistant. Answer in one line."},
    {"role": "user", "content": "{{question}}"},
]


def prompt_uri(ref: str) -> str:
    """``prompts:/NAME@ALIAS`` or ``prompts:/NAME/VERSION`` for a prompt reference.

    Accepts those URIs and ``NAME@ALIAS``, ``NAME@VERSION``, ``NAME/VERSION``; a bare
    ``NAME`` means its ``champion``, as for models.

    Raises:
        ModelReferenceError: none of those forms.
    """
    parsed = parse_model_ref(ref.strip().removeprefix(PROMPTS_SCHEME))
    return f"{PROMPTS_SCHEME}{parsed}"


def register_prompt(
    name: str,
    template: Template,
    *,
    tracking_uri: str,
    commit_message: str | None = None,
    alias: str | None = None,
    tags: dict[str, str] | None = None,
) -> PromptVersion:
    """A version of prompt ``name`` holding ``template``: the newest one if it holds the
    same template, else a new one; ``alias`` (if given) is moved to it.

    Raises:
        ModelReferenceError: ``name`` or ``alias`` breaks the naming rules.
        RegistryError: MLflow refused a write.
    """
    if alias is not None:
        ModelRef(name, alias=alias)  # checks the name and the alias before any write
    else:
        ModelRef(name, version=1)
    client = _client(tracking_uri)
    with _errors(f"cannot register prompt {name!r}"):
        latest = _latest(client, name)
        if latest is None or latest.template != template:
            latest = client.register_prompt(
                name, template, commit_message=commit_message, tags=tags
            )
        if alias is not None:
            client.set_prompt_alias(name, alias, latest.version)
    return latest


def set_prompt_alias(name: str, alias: str, version: int, *, tracking_uri: str) -> None:
    """Move ``alias`` of prompt ``name`` to ``version``.

    Raises:
        ModelReferenceError: the alias breaks the naming rules.
        RegistryError: no such prompt or version.
    """
    ModelRef(name, alias=alias)
    with _errors(f"cannot move alias {alias!r} of prompt {name!r} to version {version}"):
        _client(tracking_uri).set_prompt_alias(name, alias, version)


def load_prompt(ref: str, *, tracking_uri: str) -> PromptVersion:
    """The prompt version ``ref`` names (``prompt_uri``), read from the registry now.

    An alias is looked up on every call (no cache), so a moved alias is seen at once.

    Raises:
        ModelReferenceError: ``ref`` is not a prompt reference.
        RegistryError: no such prompt, version or alias.
    """
    uri = prompt_uri(ref)
    with _errors(f"cannot load prompt {uri}"):
        found = _client(tracking_uri).load_prompt(uri, cache_ttl_seconds=0)
    if found is None:  # pragma: no cover - MLflow raises instead unless allow_missing
        raise RegistryError(f"no prompt {uri}", _HINT)
    version: PromptVersion = found
    return version


def demo_prompt(tracking_uri: str) -> PromptVersion:
    """The demo's chat prompt, registered (once) with alias ``production`` and loaded by it.

    Format it with ``team`` and ``question``::

        prompt = demo_prompt(uri)
        messages = prompt.format(team="platform", question="What is vLLM?")
        chat(client, messages, model="tiny-chat")
    """
    register_prompt(
        DEMO_PROMPT,
        DEMO_TEMPLATE,
        tracking_uri=tracking_uri,
        commit_message="mlp llm demo: a one-line assistant",
        alias=DEMO_ALIAS,
    )
    return load_prompt(f"{DEMO_PROMPT}@{DEMO_ALIAS}", tracking_uri=tracking_uri)


_HINT = (
    "Register it with mlplatform.llm.prompts.register_prompt; the MLflow UI's Prompts tab "
    "lists the prompts, versions and aliases."
)


def _client(tracking_uri: str) -> MlflowClient:
    from mlplatform.tracking._mlflow import client_for

    return client_for(tracking_uri)


def _latest(client: MlflowClient, name: str) -> PromptVersion | None:
    from mlflow.exceptions import MlflowException

    from mlplatform.tracking._mlflow import is_not_found

    try:
        versions = list(client.search_prompt_versions(name, max_results=1000))
    except MlflowException as exc:
        if is_not_found(exc):
            return None
        raise
    return max(versions, key=lambda v: int(v.version), default=None)


def _errors(headline: str) -> Any:
    from mlplatform.tracking._mlflow import registry_errors

    return registry_errors(headline, _HINT)
