"""A logged-in client of a diming server for the benchmark scripts
(bench_writes.sh, bench_followers.sh): a session cookie and its CSRF token, and
timed JSON writes through it."""
import http.cookiejar
import json
import time
import urllib.request


class Session:
    def __init__(self, base, username, password):
        self.base = base
        # Sessions are cookies: keep the one the login set.
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        req = urllib.request.Request(base + "/api/v1/session", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"content-type": "application/json"})
        with self.opener.open(req) as r:
            self.csrf = json.loads(r.read())["csrf_token"]

    def write(self, method, path, body, extra=None):
        """(milliseconds, the JSON answer, its ETag)."""
        req = urllib.request.Request(self.base + path, method=method, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json", "x-csrf-token": self.csrf,
                                              **(extra or {})})
        t = time.perf_counter()
        with self.opener.open(req) as r:
            data, etag = r.read(), r.headers.get("etag")
        return (time.perf_counter() - t) * 1000, json.loads(data), etag
