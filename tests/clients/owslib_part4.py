"""OWSLib, a real OGC API - Features client, edits a facility through Part 4.

Run by tests/it/ogc_write.rs with the virtualenv scripts/setup.sh --test makes:
    target/clients-venv/bin/python tests/clients/owslib_part4.py BASE TOKEN
It reads the conformance classes, creates a care home with
collection_item_create, finds it again with a CQL2 filter, replaces it with
collection_item_update (sending the ETag it read in If-Match, through OWSLib's
own request headers) and closes it with collection_item_delete. Prints one JSON
line: the facility's id and what OWSLib saw; the Rust test then checks the
registry's history and audit. Exits non-zero on the first failure.
"""

import json
import sys

from owslib.ogcapi.features import Features

base, token = sys.argv[1], sys.argv[2]
api = Features(f"{base}/ogc", headers={"Authorization": f"Bearer {token}"})
seen = {}

conforms = api.conformance()["conformsTo"]
part4 = [c for c in conforms if "ogcapi-features-4" in c]
assert any(c.endswith("/create-replace-delete") for c in part4), conforms
seen["part4"] = part4

name = "OWSLib 测试敬老院 <b>&amp;</b>"
feature = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [86.2135, 44.3051]},
    "properties": {"name": name, "kind": "care_home", "capacity_beds": 30},
}
assert api.collection_item_create("facilities", feature) is True

# Part 3 through OWSLib: the new feature by its name (quotes doubled in CQL2).
cql = "name = '{}'".format(name.replace("'", "''"))
found = api.collection_items("facilities", filter=cql, limit=5)
assert found["numberMatched"] == 1, found
fid = found["features"][0]["id"]
seen["id"] = fid

item = api.collection_item("facilities", fid)
etag = api.response_headers["ETag"]
assert item["properties"]["name"] == name and item["properties"]["capacity_beds"] == 30, item
seen["etag_read"] = etag

# Replace: the feature as read, with more beds and a new name (read-only members
# such as township_name and version go back unchanged, as a GIS client sends them).
item["properties"]["capacity_beds"] = 45
item["properties"]["name"] = "OWSLib 测试敬老院（扩建）"
api.headers["If-Match"] = etag
assert api.collection_item_update("facilities", fid, item) is True
after = api.collection_item("facilities", fid)
assert after["properties"]["capacity_beds"] == 45, after
seen["etag_after_update"] = api.response_headers["ETag"]

# A stale version is refused (412), and OWSLib reports the failure.
api.headers["If-Match"] = etag
try:
    api.collection_item_update("facilities", fid, item)
    raise AssertionError("a stale If-Match was accepted")
except RuntimeError as e:
    seen["stale"] = str(e)[:200]

# Delete closes: the feature stays, with status closed.
api.headers["If-Match"] = seen["etag_after_update"]
assert api.collection_item_delete("facilities", fid) is True
del api.headers["If-Match"]
closed = api.collection_item("facilities", fid)
seen["status_after_delete"] = closed["properties"]["status"]
print(json.dumps(seen, ensure_ascii=False))
