from tests.conftest import Cli


def test_add_and_list_client(cli: Cli) -> None:
    r = cli(
        "client",
        "add",
        "shopapp",
        "--env",
        "sandbox",
        "--client-id",
        "X",
        "--client-secret-stdin",
        "--app-name",
        "Shop App",
        input="s3cret\n",
    )
    assert r.exit_code == 0, r.stderr
    r = cli("client", "list", "--json")
    assert '"client_id": "X"' in r.stdout
    assert "s3cret" not in r.stdout + r.stderr
