"""The API id and the endpoint are independent everywhere; the id is read, never taken from the host.

AppSync's endpoint host ``<X>.appsync-api.<region>.amazonaws.com`` carries another 26-character string than the
API id (real pairs from committed amplify-meta.json files: AdhamOmari/taskmaster, AnthonyDinhTNguyen/GraphQLTest).
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mutation_cli.api_lookup import ApiLookupError, lookup_api_id
from mutation_cli.main import main
from project_settings.amplify_files import read_gen1, read_gen2
from project_settings.model import DEFAULT_PATH

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GEN1_ID = "q7wz3kxhfbdnlmc2r5tuvy4e6a"
GEN1_HOST = "k3vh5ojtxbeqdm2ayrfsiwcu7n"
GEN2_ID = "36dah6hvw5ggbcapeoztrex6xm"
GEN2_URL = "https://fu2yrzsiwc4hkqbl6dnm5tejxa.appsync-api.eu-central-1.amazonaws.com/graphql"


@pytest.fixture
def work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    shutil.copytree(FIXTURES / "gen1", tmp_path / "shop")
    shutil.copytree(FIXTURES / "gen2", tmp_path / "shop-gen2")
    settings = tmp_path / "settings.toml"
    settings.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")

    class Work:
        gen1 = tmp_path / "shop"
        gen2 = tmp_path / "shop-gen2"
        path = settings

        @staticmethod
        def run(*args: str) -> tuple[int, str, str]:
            code = main(["init", "--settings", str(settings), "--no-input", *args])
            out, err = capsys.readouterr()
            return code, out, err

        @staticmethod
        def raw() -> dict[str, Any]:
            return tomllib.loads(settings.read_text(encoding="utf-8"))

    return Work


def test_gen1_reads_the_id_from_its_output_and_the_endpoint_from_its_own() -> None:
    facts = read_gen1(FIXTURES / "gen1")
    assert facts.api_id == GEN1_ID
    assert facts.url is not None and GEN1_HOST in facts.url and GEN1_ID not in facts.url
    assert facts.region == "eu-west-1"  # the host names the region


def test_gen1_init_accepts_a_deployed_project_whose_host_is_not_its_id(work: Any) -> None:
    code, _, err = work.run("--from-amplify", str(work.gen1), "--mutations", "createOrder")
    assert code == 0, err
    assert work.raw()["appsync"]["api_id"] == GEN1_ID
    assert GEN1_HOST in work.raw()["appsync"]["url"]


def test_gen2_never_takes_the_id_from_the_host(work: Any) -> None:
    facts = read_gen2(work.gen2 / "amplify_outputs.json")
    assert facts.api_id is None and facts.url == GEN2_URL
    code, out, _ = work.run("--from-amplify", str(work.gen2), "--mutations", "createTodo")
    assert code == 0
    assert work.raw()["appsync"]["api_id"].startswith("<the AppSync API id")
    assert "--api-id ID, or --lookup-api-id" in out


def test_api_id_option_is_checked(work: Any) -> None:
    code, _, err = work.run(
        "--from-amplify", str(work.gen2), "--api-id", "not-an-id", "--mutations", "createTodo"
    )
    assert code == 2 and "is not an AppSync API id" in err
    # Gen 1's files already name it: a different one is a contradiction, not a choice
    code, _, err = work.run("--from-amplify", str(work.gen1), "--api-id", GEN2_ID)
    assert code == 2 and "contradicts" in err and GEN1_ID in err


def _stubbed_session(answers: list[tuple[str, Any]], region: str = "eu-central-1") -> Any:
    """A session whose clients answer ``answers`` in order (a response dict, or an error code string)."""
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name=region)
    clients: dict[str, Any] = {}
    stubbers: dict[str, Stubber] = {}
    for service in ("appsync", "cloudformation"):
        clients[service] = session.client(service, region_name=region)
        stubbers[service] = Stubber(clients[service])
    for operation, response in answers:
        service = "cloudformation" if operation == "describe_stacks" else "appsync"
        if isinstance(response, str):
            stubbers[service].add_client_error(operation, response, "not authorized", 403)
        else:
            stubbers[service].add_response(operation, response)
    for stubber in stubbers.values():
        stubber.activate()

    class Session:
        @staticmethod
        def client(service: str, region_name: str) -> Any:
            assert region_name == region
            return clients[service]

    return Session()


def _api(api_id: str, host: str, account: str = "555566667777") -> dict[str, Any]:
    # ListGraphqlApis' shape (AppSync API reference, GraphqlApi: apiId, arn, uris.GRAPHQL / REALTIME).
    return {
        "name": f"api-{api_id[:4]}",
        "apiId": api_id,
        "arn": f"arn:aws:appsync:eu-central-1:{account}:apis/{api_id}",
        "authenticationType": "AWS_IAM",
        "uris": {
            "GRAPHQL": f"https://{host}.appsync-api.eu-central-1.amazonaws.com/graphql",
            "REALTIME": f"wss://{host}.appsync-realtime-api.eu-central-1.amazonaws.com/graphql",
        },
    }


def test_lookup_matches_uris_graphql_across_pages_and_names_its_source() -> None:
    other = "zzzzzzzzzzzzzzzzzzzzzzzzzz"
    session = _stubbed_session(
        [
            (
                "list_graphql_apis",
                {"graphqlApis": [_api(other, "aaaaaaaaaaaaaaaaaaaaaaaaaa")], "nextToken": "p2"},
            ),
            ("list_graphql_apis", {"graphqlApis": [_api(GEN2_ID, "fu2yrzsiwc4hkqbl6dnm5tejxa")]}),
        ]
    )
    found = lookup_api_id(GEN2_URL, "eu-central-1", session)
    assert found.api_id == GEN2_ID and found.account == "555566667777"
    assert "ListGraphqlApis" in found.source


def test_lookup_falls_back_to_the_data_stack_output_then_says_it_found_nothing() -> None:
    stack = {
        "StackName": "amplify-app-main-branch-data7552DF31",
        "StackId": "arn:aws:cloudformation:eu-central-1:555566667777:stack/amplify-app-data/1",
        "CreationTime": "2026-12-01T00:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
        # amplify-backend's backend-data outputs (captured Gen 2 deploy events in packages/cli-core test assets)
        "Outputs": [
            {"OutputKey": "awsAppsyncApiId", "OutputValue": GEN2_ID},
            {"OutputKey": "awsAppsyncApiEndpoint", "OutputValue": GEN2_URL},
        ],
    }
    session = _stubbed_session(
        [("list_graphql_apis", {"graphqlApis": []}), ("describe_stacks", {"Stacks": [stack]})]
    )
    found = lookup_api_id(GEN2_URL, "eu-central-1", session)
    assert found.api_id == GEN2_ID and "awsAppsyncApiId" in found.source and found.account == "555566667777"

    empty = _stubbed_session(
        [("list_graphql_apis", {"graphqlApis": []}), ("describe_stacks", {"Stacks": []})]
    )
    with pytest.raises(ApiLookupError, match=r"no API with endpoint .* pass --api-id"):
        lookup_api_id(GEN2_URL, "eu-central-1", empty)


def test_lookup_for_a_custom_domain_reads_its_association() -> None:
    url = "https://api.example.com/graphql"
    session = _stubbed_session(
        [
            (
                "list_domain_names",
                {
                    "domainNameConfigs": [
                        {
                            "domainName": "api.example.com",
                            "domainNameArn": "arn:aws:appsync:eu-central-1:555566667777:domainnames/api.example.com",
                        }
                    ]
                },
            ),
            ("get_api_association", {"apiAssociation": {"domainName": "api.example.com", "apiId": GEN2_ID}}),
        ]
    )
    found = lookup_api_id(url, "eu-central-1", session)
    assert found.api_id == GEN2_ID and "custom domain" in found.source


def _stack(api_id: str = GEN2_ID, url: str = GEN2_URL) -> dict[str, Any]:
    return {
        "StackName": "amplify-app-main-branch-data7552DF31",
        "StackId": "arn:aws:cloudformation:eu-central-1:555566667777:stack/amplify-app-data/1",
        "CreationTime": "2026-12-01T00:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": [
            {"OutputKey": "awsAppsyncApiId", "OutputValue": api_id},
            {"OutputKey": "awsAppsyncApiEndpoint", "OutputValue": url},
        ],
    }


def test_lookup_refuses_access_denied_with_the_way_out() -> None:
    session = _stubbed_session(
        [("list_graphql_apis", "AccessDeniedException"), ("describe_stacks", "AccessDenied")]
    )
    with pytest.raises(ApiLookupError, match=r"AccessDeniedException.*--api-id") as caught:
        lookup_api_id(GEN2_URL, "eu-central-1", session)
    # what each source answered
    assert "ListGraphqlApis AccessDeniedException" in str(caught.value)
    assert "DescribeStacks AccessDenied" in str(caught.value)


def test_access_denied_by_appsync_falls_back_to_the_stack_outputs() -> None:
    session = _stubbed_session(
        [("list_graphql_apis", "AccessDeniedException"), ("describe_stacks", {"Stacks": [_stack()]})]
    )
    found = lookup_api_id(GEN2_URL, "eu-central-1", session)
    assert found.api_id == GEN2_ID and "awsAppsyncApiId" in found.source
    # a custom domain whose association may not be read: the same
    url = "https://api.example.com/graphql"
    domain = {
        "domainName": "api.example.com",
        "domainNameArn": "arn:aws:appsync:eu-central-1:555566667777:domainnames/api.example.com",
    }
    session = _stubbed_session(
        [
            ("list_domain_names", {"domainNameConfigs": [domain]}),
            ("get_api_association", "AccessDeniedException"),
            ("describe_stacks", {"Stacks": [_stack(url=url)]}),
        ]
    )
    assert lookup_api_id(url, "eu-central-1", session).api_id == GEN2_ID
    # denied, then found nowhere: both answers are named
    session = _stubbed_session(
        [("list_graphql_apis", "AccessDeniedException"), ("describe_stacks", {"Stacks": []})]
    )
    with pytest.raises(ApiLookupError) as caught:
        lookup_api_id(GEN2_URL, "eu-central-1", session)
    assert "ListGraphqlApis AccessDeniedException: not authorized" in str(caught.value)
    assert "DescribeStacks outputs" in str(caught.value) and "no API with this endpoint" in str(caught.value)


def test_two_apis_answering_to_one_endpoint_are_refused_naming_both() -> None:
    other = "zzzzzzzzzzzzzzzzzzzzzzzzzz"
    host = "fu2yrzsiwc4hkqbl6dnm5tejxa"
    session = _stubbed_session(
        [("list_graphql_apis", {"graphqlApis": [_api(GEN2_ID, host), _api(other, host)]})]
    )
    with pytest.raises(ApiLookupError, match=r"more than one API answers to") as caught:
        lookup_api_id(GEN2_URL, "eu-central-1", session)
    assert GEN2_ID in str(caught.value) and other in str(caught.value)
    # and two stacks naming different ids for the endpoint
    session = _stubbed_session(
        [
            ("list_graphql_apis", {"graphqlApis": []}),
            ("describe_stacks", {"Stacks": [_stack(), _stack(other)]}),
        ]
    )
    with pytest.raises(ApiLookupError, match=r"more than one API answers to") as caught:
        lookup_api_id(GEN2_URL, "eu-central-1", session)
    assert GEN2_ID in str(caught.value) and other in str(caught.value)


def test_profile_without_lookup_is_a_usage_error(work: Any) -> None:
    before = work.path.read_text(encoding="utf-8")
    code, _, err = work.run(
        "--from-amplify",
        str(work.gen2),
        "--profile",
        "shop-b",
        "--api-id",
        GEN2_ID,
        "--mutations",
        "createTodo",
    )
    assert code == 2
    assert "--profile shop-b is only used by --lookup-api-id" in err
    assert work.path.read_text(encoding="utf-8") == before  # nothing written


def test_init_lookup_fills_id_and_account_from_a_real_stack(
    work: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end through moto's CloudFormation on 127.0.0.1: the stack outputs a Gen 2 deploy leaves."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "awsAppsyncApiId": {"Value": GEN2_ID},
                "awsAppsyncApiEndpoint": {"Value": GEN2_URL},
            },
        }
        boto3.client("cloudformation", region_name="eu-central-1").create_stack(
            StackName="amplify-shop-main-data", TemplateBody=json.dumps(template)
        )
        code, out, err = work.run(
            "--from-amplify", str(work.gen2), "--lookup-api-id", "--mutations", "createTodo"
        )
        assert code == 0, err
        raw = work.raw()
        assert raw["appsync"]["api_id"] == GEN2_ID
        assert raw["accounts"]["api"] == "123456789012"  # moto's default account, from the stack's ARN
        assert "API id from stack amplify-shop-main-data output awsAppsyncApiId" in out
    finally:
        server.stop()


def test_the_endpoint_host_is_refused_as_an_api_id(work: Any) -> None:
    """Review: the exact mistake of a wrong API id, made by hand, was accepted."""
    host = "fu2yrzsiwc4hkqbl6dnm5tejxa"  # the first label of the Gen 2 fixture's data.url
    code, _, err = work.run("--from-amplify", str(work.gen2), "--api-id", host, "--mutations", "createTodo")
    assert code == 2 and "is the endpoint's host, not the API id" in err
    text = work.path.read_text(encoding="utf-8")
    work.path.write_text(
        text.replace('api_id = "sandboxapi0000000000000000"', f'api_id = "{host}"').replace(
            "sandboxhost000000000000000", host
        ),
        encoding="utf-8",
    )
    from project_settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=r"is appsync\.url's host, not the API id"):
        load_settings(work.path)
