"""Find an AppSync API's id from its endpoint, with the user's account-B credentials (``init --lookup-api-id``).

The id cannot be computed from the endpoint: the host's first label is another 26-character string (see
``project_settings.amplify_files``). Gen 2's ``amplify_outputs.json`` has no id at all, so it is read from AWS:

1. ``appsync:ListGraphqlApis``: the API whose ``uris.GRAPHQL`` is the endpoint (AppSync's own host);
2. for a custom domain, ``appsync:ListDomainNames`` + ``appsync:GetApiAssociation`` (the domain's API);
3. ``cloudformation:DescribeStacks`` (also when the AppSync calls are denied): a stack output pair naming
   both, Gen 2's data stack (``awsAppsyncApiId`` / ``awsAppsyncApiEndpoint``, amplify-backend's backend-data
   outputs) or Gen 1's API stack (``GraphQLAPIIdOutput`` / ``GraphQLAPIEndpointOutput``).

Each answer says which source it came from; nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from worker.names import APPSYNC_API_ID_RE, APPSYNC_ENDPOINT_RE

#: CloudFormation output keys that name an API's id and endpoint together: Gen 2 (defineData), Gen 1.
OUTPUT_PAIRS = (
    ("awsAppsyncApiId", "awsAppsyncApiEndpoint"),
    ("GraphQLAPIIdOutput", "GraphQLAPIEndpointOutput"),
)


class ApiLookupError(RuntimeError):
    """The id could not be found with these credentials: the message says what was searched and why not."""


@dataclass(frozen=True)
class FoundApi:
    api_id: str
    account: str | None  # from the API's or the stack's ARN
    source: str  # which call and which field matched


def _same_endpoint(a: str, b: str) -> bool:
    def key(url: str) -> tuple[str, str, str]:
        parts = urlsplit(url.strip())
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.path.rstrip("/") or "/"

    return key(a) == key(b)


def _arn_account(arn: Any) -> str | None:
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


def _pages(call: Any, key: str, token_in: str, token_out: str, **params: Any) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        answer = call(**params, **({token_in: token} if token else {}))
        yield from answer.get(key) or ()
        token = answer.get(token_out)
        if not token:
            return


def _one(found: list[FoundApi], url: str) -> FoundApi | None:
    ids = {f.api_id for f in found}
    if len(ids) > 1:
        raise ApiLookupError(
            f"more than one API answers to {url}: " + ", ".join(f"{f.api_id} ({f.source})" for f in found)
        )
    return found[0] if found else None


#: Error codes that mean "these credentials may not call this": the lookup tries the next source.
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def _appsync_answer(appsync: Any, url: str, host: str, tried: list[str]) -> list[FoundApi]:
    if APPSYNC_ENDPOINT_RE.match(host):
        tried.append("appsync:ListGraphqlApis (uris.GRAPHQL)")
        return [
            FoundApi(str(api["apiId"]), _arn_account(api.get("arn")), "appsync:ListGraphqlApis uris.GRAPHQL")
            for api in _pages(appsync.list_graphql_apis, "graphqlApis", "nextToken", "nextToken")
            if _same_endpoint(str((api.get("uris") or {}).get("GRAPHQL", "")), url)
        ]
    tried.append("appsync:ListDomainNames + GetApiAssociation (custom domain)")
    found = []
    for domain in _pages(appsync.list_domain_names, "domainNameConfigs", "nextToken", "nextToken"):
        if str(domain.get("domainName", "")).lower() != host:
            continue
        association = appsync.get_api_association(domainName=domain["domainName"]).get("apiAssociation") or {}
        if association.get("apiId"):
            found.append(
                FoundApi(
                    str(association["apiId"]),
                    _arn_account(domain.get("domainNameArn")),
                    f"appsync:GetApiAssociation of custom domain {host}",
                )
            )
    return found


def _stack_answer(cloudformation: Any, url: str, tried: list[str]) -> list[FoundApi]:
    tried.append("cloudformation:DescribeStacks outputs " + ", ".join("/".join(p) for p in OUTPUT_PAIRS))
    found = []
    for stack in _pages(cloudformation.describe_stacks, "Stacks", "NextToken", "NextToken"):
        outputs = {o.get("OutputKey"): o.get("OutputValue") for o in stack.get("Outputs") or ()}
        for id_key, endpoint_key in OUTPUT_PAIRS:
            endpoint = outputs.get(endpoint_key)
            if isinstance(endpoint, str) and outputs.get(id_key) and _same_endpoint(endpoint, url):
                found.append(
                    FoundApi(
                        str(outputs[id_key]),
                        _arn_account(stack.get("StackId")),
                        f"stack {stack.get('StackName')} output {id_key}",
                    )
                )
    return found


def lookup_api_id(url: str, region: str, session: Any) -> FoundApi:
    """The id of the API served at ``url`` in ``region``, looked up with ``session`` (a boto3 Session).

    An access denial from one source is not the end: the next source is asked, and if none finds the API the
    error says what each one answered.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    host = (urlsplit(url).hostname or "").lower()
    tried: list[str] = []
    answered: list[str] = []  # what each source said, for the final error
    chosen: FoundApi | None = None
    sources = (
        lambda: _appsync_answer(session.client("appsync", region_name=region), url, host, tried),
        lambda: _stack_answer(session.client("cloudformation", region_name=region), url, tried),
    )
    try:
        for source in sources:
            try:
                chosen = _one(source(), url)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                if error.get("Code") not in DENIED_CODES:
                    raise
                answered.append(
                    f"{tried[-1]}: {exc.operation_name} {error.get('Code')}: {error.get('Message')}"
                )
                continue
            if chosen is not None:
                break
            answered.append(f"{tried[-1]}: no API with this endpoint")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ApiLookupError(
            f"{exc.operation_name} in {region}: {error.get('Code')}: {error.get('Message')} (searched: "
            f"{'; '.join(tried)}); pass --api-id instead (the AppSync console's API settings show it)"
        ) from None
    except BotoCoreError as exc:
        raise ApiLookupError(f"account-B credentials or network: {exc}; pass --api-id instead") from None
    if chosen is None:
        raise ApiLookupError(
            f"no API with endpoint {url} in region {region} for these credentials ({'; '.join(answered)}): "
            "are they account B's, allowed to list AppSync APIs or describe CloudFormation stacks? Or pass "
            "--api-id (the AppSync console's API settings show it)"
        )
    if not APPSYNC_API_ID_RE.match(chosen.api_id):
        raise ApiLookupError(f"{chosen.source} gave {chosen.api_id!r}, which is not an AppSync API id")
    return chosen


__all__ = ["DENIED_CODES", "OUTPUT_PAIRS", "ApiLookupError", "FoundApi", "lookup_api_id"]
