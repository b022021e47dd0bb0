"""Writes hostile torrents into a repository and lists them in its index.json, as a broken or
malicious catalog would. Usage: hostile_torrents.py REPO"""
import json
import os
import sys


def bencode(value):
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(value)


def torrent(files, name="x"):
    total = sum(f.get("length", 0) for f in files)
    pieces = max(1, (total + 16383) // 16384)
    return bencode({"info": {"name": name, "piece length": 16384, "pieces": b"x" * 20 * pieces, "files": files}})


def main(repo):
    cases = {
        "evil-dotdot": torrent([{"length": 10, "path": ["..", "..", "escaped"]}]),
        "evil-absolute": torrent([{"length": 10, "path": ["ok"]}], name="/tmp"),
        "evil-slash": torrent([{"length": 10, "path": ["a/../../b"]}]),
        "evil-nul": torrent([{"length": 10, "path": ["a\0b"]}]),
        "evil-symlink": torrent([{"length": 10, "path": ["f"]},
                                 {"length": 0, "path": ["l"], "attr": "l", "symlink path": ["..", "..", "etc"]}]),
        "evil-many-files": torrent([{"length": 1, "path": ["d", "f%d" % i]} for i in range(200001)]),
        "evil-truncated": torrent([{"length": 10, "path": ["f"]}])[:40],
        "evil-random": os.urandom(4096),
    }
    index_path = os.path.join(repo, "index.json")
    index = json.load(open(index_path))
    for version, data in cases.items():
        open(os.path.join(repo, "torrents", version + ".torrent"), "wb").write(data)
        index["releases"].append({"version": version})
    tmp = index_path + ".tmp"
    json.dump(index, open(tmp, "w"))
    os.rename(tmp, index_path)
    print(" ".join(cases))


main(sys.argv[1])
