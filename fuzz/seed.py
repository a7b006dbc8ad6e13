#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the test fixtures, the shipped menus and the sample feed.

Run from the repository root: python3 fuzz/seed.py. The fuzzers add what they find to the same
directories; `tests/fuzz_corpus.rs` replays every file of them on each `cargo test`.
"""
import hashlib
import json
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def dialects():
    for fixture in sorted((ROOT / "tests/fixtures/dialects").glob("*.toml")):
        for exchange in tomllib.loads(fixture.read_text()).get("exchange", []):
            path = exchange.get("path", "/ussd/" + fixture.stem)
            path, _, query = path.partition("?")
            name, _, tail = path.removeprefix("/ussd/").partition("/")
            method = exchange.get("method", "POST")
            head = "\n".join([name, method, exchange.get("content_type", ""), tail, query])
            put("dialect", head + "\n" + exchange.get("request", ""))


def feed_lines():
    lines = (ROOT / "data/feed.ndjson").read_text().splitlines()
    kinds = {}
    for line in lines:
        change = json.loads(line)
        person = change.get("person", {})
        key = (change["op"], change.get("insurer", person.get("insurer")), "holder" in person)
        kinds.setdefault(key, line)
    for line in kinds.values():
        put("feed_line", line)
    for broken in [
        '{"seq": 2, "op": "upsert", "person": {"insurer": "tamin", "person_id": 12}}',
        '{"seq": 3, "op": "upsert", "person": {"insurer": "osms", "person_id": "0012-345-679", "name": "Z. Ahmadi"}}',
        '{"seq": 4, "op": "delete", "insurer": "tamin"}',
        '{"seq": 5, "op": "event", "insurer": "cnam", "person_id": "08123456", "event": {"kind": "transfer_paid"}}',
        '{"seq": 6, "op": "upsert", "person": {"insurer": "cnam", "person_id": "08123456", "ceilings": [{"kind": "ordinary", "year": 2026, "limit": "450.000", "used": "1e3"}]}}',
        '{"seq": 7, "op": "upsert", "person": {"insurer": "osms", "person_id": "850714300018", "contributions": {"2025-13": true}}}',
        '{"seq": 9999999999, "op": "delete", "insurer": "tamin", "person_id": "0012345679"}',
    ]:
        put("feed_line", broken)


def menus():
    for service in sorted((ROOT / "menus").glob("*.toml")):
        if "." in service.stem:
            continue
        for words in sorted((ROOT / "menus").glob(service.stem + ".*.toml")):
            put("menu", service.read_text() + "\0" + words.read_text())
    for fixture in sorted((ROOT / "tests/fixtures").glob("*/tamin.toml")):
        words = fixture.parent / "tamin.fa.toml"
        extra = words.read_text() if words.exists() else ""
        put("menu", fixture.read_text() + "\0" + extra)


def configs():
    for fixture in sorted((ROOT / "tests/fixtures/declared").glob("*.toml")):
        put("config", fixture.read_text())
    put("config", "")
    put("config", """[server]
listen = "0.0.0.0:8080"
max_connections = 512
[feed]
source = "data/feed.ndjson"
max_seq_gap = 1000
[admin]
listen = "127.0.0.1:9090"
[audit]
node = 3
key_file = "/var/lib/daftar/db.key"
[screen]
gsm7 = 160
ucs2 = 70
[services.tamin]
codes = ["*4*1420#"]
[dialects.nalo]
screen = { gsm7 = 120 }
allow = ["10.0.0.0/8", "::1"]
[dialects.arkesel.networks.MTN]
screen = { gsm7 = 140, ucs2 = 60 }
""")


def identifiers():
    for text in ["0012345679", "۰۰۱۲۳۴۵۶۷۹", "٠٠١٢٣٤٥٦٧٩", "0012-345-679", " 001 234 5679 ",
                 "850714300018", "8507 1430 0018", "08123456", "11966433", "00/11966433",
                 "0011966433", "966433", "1111111111", "", "\u200c\u200e۱۲", "12345678901234567890"]:
        put("identifiers", text)


dialects()
feed_lines()
menus()
configs()
identifiers()
