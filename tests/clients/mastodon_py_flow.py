"""A real Mastodon client (Mastodon.py, pinned in requirements.txt) against a running Tribune.

Run by tests/it/mastodon_api.rs: python mastodon_py_flow.py BASE_URL USERNAME PASSWORD.
Each step prints one JSON line on stdout, then waits for a line on stdin (the Rust side
checks Tribune's public page and ActivityPub objects, or arranges a reply, then answers).
Mastodon.py 2.3 has no PKCE parameters, so the authorization-code flow runs without them
(PKCE is covered by the Rust tests). The consent step is driven over HTTP with requests,
as a person's browser would: log in (CSRF), approve, read the code from the oob page.
"""

import json
import re
import sys
from html import unescape
from urllib.parse import urljoin

import requests
from mastodon import Mastodon

OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = ["read", "write"]


def step(name, **data):
    print(json.dumps({"step": name, **data}), flush=True)
    answer = sys.stdin.readline().strip()
    if answer != "ok":
        raise SystemExit(f"the test stopped the flow after {name}: {answer!r}")


def field(html, name):
    found = re.search(r'<input[^>]*name="%s"[^>]*value="([^"]*)"' % re.escape(name), html)
    if not found:
        raise SystemExit(f"no field {name} in the page:\n{html}")
    return unescape(found.group(1))


def consent(url, username, password):
    """Follows the authorization URL like a browser: login page, login, consent, code."""
    browser = requests.Session()
    page = browser.get(url)
    assert page.url.split("?")[0].endswith("/admin/login"), page.url
    login = browser.post(
        urljoin(page.url, "/admin/login"),
        data={
            "csrf": field(page.text, "csrf"),
            "username": username,
            "password": password,
            "next": field(page.text, "next"),
        },
    )
    assert login.status_code == 200 and "/oauth/authorize" in login.url, (login.status_code, login.url)
    form = {name: field(login.text, name) for name in [
        "csrf", "response_type", "client_id", "redirect_uri", "scope", "state",
        "code_challenge", "code_challenge_method",
    ]}
    form["decision"] = "approve"
    approved = browser.post(urljoin(login.url, "/oauth/authorize"), data=form)
    assert approved.status_code == 200, approved.status_code
    code = re.search(r"<code>([^<]+)</code>", approved.text)
    assert code, approved.text
    return code.group(1)


def main():
    base, username, password = sys.argv[1:4]
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py flow", scopes=SCOPES, redirect_uris=OOB, api_base_url=base,
        website="https://github.com/halcy/Mastodon.py",
    )
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base,
                   version_check_mode="none")
    url = api.auth_request_url(redirect_uris=OOB, scopes=SCOPES, state="flow-state", allow_http=True)
    code = consent(url, username, password)
    api.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)

    me = api.account_verify_credentials()
    step("verified", username=me["username"], source=me["source"]["privacy"])

    instance = api.instance()
    step("instance", title=instance["title"])

    first = api.status_post("Bonjour depuis **Mastodon.py**", spoiler_text="Essai",
                            language="en", visibility="public", idempotency_key="flow-1")
    again = api.status_post("Bonjour depuis **Mastodon.py**", spoiler_text="Essai",
                            language="en", visibility="public", idempotency_key="flow-1")
    assert str(first["id"]) == str(again["id"]), (first["id"], again["id"])
    step("posted", id=str(first["id"]), url=first["url"], sensitive=first["sensitive"],
         spoiler_text=first["spoiler_text"], language=first["language"])

    edited = api.status_update(first["id"], "Modifié depuis *Mastodon.py*", spoiler_text="Essai")
    assert edited["edited_at"] is not None
    history = api.status_history(first["id"])
    step("edited", versions=len(history), content=edited["content"])

    context = api.status_context(first["id"])
    replies = [{"acct": s["account"]["acct"], "content": s["content"],
                "in_reply_to_id": str(s["in_reply_to_id"])} for s in context["descendants"]]
    notes = api.notifications()
    kinds = [n["type"] for n in notes]
    mentions = [n["status"]["content"] for n in notes if n["type"] == "mention" and n["status"]]
    step("conversation", replies=replies, notifications=kinds, mentions=mentions)

    deleted = api.status_delete(first["id"])
    step("deleted", text=deleted["text"])

    api.revoke_access_token(allow_http=True)
    print(json.dumps({"step": "done"}), flush=True)


if __name__ == "__main__":
    main()
