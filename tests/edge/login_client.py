"""A login client run inside a container on Caddy's public network (test_abuse.py).

Each container has its own address, so each is "another client" to the rate limits. It logs in
through the form as a browser would: GET /login for the CSRF token, POST the fields, follow the
redirect. Prints one JSON line per attempt: the final status, URL and Retry-After.
Usage: python login_client.py BASE_URL CA_FILE USER PASSWORD [COUNT]
"""

import http.cookiejar
import json
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request


def main(base: str, ca_file: str, user: str, password: str, count: str = "1") -> None:
    context = ssl.create_default_context(cafile=ca_file)  # Pebble's root, nothing else
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context),
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
    )
    for _ in range(int(count)):
        form = opener.open(base + "/login", timeout=10).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        fields = {"username": user, "password": password, "csrf_token": token}
        # A browser sends the page it posts from; over HTTPS, Flask-WTF's CSRF check demands it.
        post = urllib.request.Request(
            base + "/login", urllib.parse.urlencode(fields).encode(), {"Referer": base + "/login"}
        )
        try:
            response = opener.open(post, timeout=10)
            status, url, retry_after = response.status, response.url, None
        except urllib.error.HTTPError as refused:
            status, url, retry_after = refused.code, refused.url, refused.headers["Retry-After"]
        print(json.dumps({"status": status, "url": url, "retry_after": retry_after}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
