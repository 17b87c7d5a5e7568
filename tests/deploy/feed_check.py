#!/usr/bin/env python3
"""Feed generation and delivery checks for the container test.

  feed_check.py generate N FEED.jsonl      writes N articles with unique ids (own sentences)
  feed_check.py seen FEED.jsonl GOT.jsonl  prints how many of the feed's ids GOT holds
  feed_check.py verify FEED.jsonl EXPECTED.jsonl GOT.jsonl
      EXPECTED: `topicwire tag --format json FEED` (offline tags, same taxonomy)
      GOT: `topicwire subscribe --format json` output (every stream)
      Checks that every article arrived, on exactly the streams of its tags (`untagged` when it
      has none), once per stream, with the same tags the offline tagger gives. Exit 1 otherwise.
"""
import collections
import json
import sys

# Short made-up headlines; some name the default taxonomy's topics, some name none.
SUBJECTS = [
    ("Quantum computing start-up shows error-corrected qubits",
     "The team ran a logical qubit for an hour on a superconducting quantum processor."),
    ("Carmaker opens electric vehicle battery plant",
     "The new factory will build battery packs for electric vehicles and plug-in hybrids."),
    ("Humanoid robot learns to fold laundry",
     "Researchers trained the humanoid robot with imitation learning from human demonstrations."),
    ("Chipmaker starts 3 nm semiconductor production",
     "The foundry says its new semiconductor process improves transistor density."),
    ("Rocket puts weather satellite into orbit",
     "The launch vehicle delivered the satellite to geostationary orbit on Tuesday."),
    ("Large language model beats benchmark in reasoning",
     "The machine learning model was trained on a new dataset of mathematical proofs."),
    ("Town council approves new bus timetable",
     "Buses will run every twenty minutes on weekdays from next month."),
    ("Local club wins the regional football cup",
     "A late goal settled the final in front of a full stadium."),
    ("Bakery celebrates fifty years on the high street",
     "The family business still bakes bread before dawn every day."),
    ("Brain-computer interface lets patient type with thoughts",
     "The implant decodes neural signals into text at forty words per minute."),
]


def load_jsonl(path):
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def generate(count, path):
    with open(path, "w", encoding="utf-8") as feed:
        for i in range(count):
            title, body = SUBJECTS[i % len(SUBJECTS)]
            article = {"id": f"e2e-{i:05d}", "title": f"{title} ({i})", "body": body,
                       "source": "container-e2e"}
            feed.write(json.dumps(article) + "\n")


def feed_ids(path):
    return [a["id"] for a in load_jsonl(path)]


def seen(feed_path, got_path):
    wanted = set(feed_ids(feed_path))
    try:
        got = {m.get("article", {}).get("id") for m in load_jsonl(got_path)}
    except (FileNotFoundError, json.JSONDecodeError):
        got = set()  # the subscriber may be mid-line; the caller asks again
    print(len(wanted & got))


def verify(feed_path, expected_path, got_path):
    ids = feed_ids(feed_path)
    expected = {m["article"]["id"]: sorted(t["topic"] for t in m.get("tags", []))
                for m in load_jsonl(expected_path)}
    problems = []
    if set(expected) != set(ids):
        problems.append(f"offline tagger answered {len(expected)} of {len(ids)} articles")
    streams_of = collections.defaultdict(list)
    tags_of = {}
    for message in load_jsonl(got_path):
        article_id = message["article"]["id"]
        streams_of[article_id].append(message.get("stream", ""))
        tags = sorted(t["topic"] for t in message.get("tags", []))
        if tags_of.setdefault(article_id, tags) != tags:
            problems.append(f"{article_id}: different tags on different streams")
    missing = [i for i in ids if i not in streams_of]
    if missing:
        problems.append(f"{len(missing)} of {len(ids)} articles never arrived, e.g. {missing[:5]}")
    for article_id in ids:
        if article_id not in streams_of:
            continue
        want_tags = expected.get(article_id, [])
        if tags_of[article_id] != want_tags:
            problems.append(f"{article_id}: tags {tags_of[article_id]}, offline {want_tags}")
        want_streams = want_tags or ["untagged"]
        if sorted(streams_of[article_id]) != want_streams:
            problems.append(f"{article_id}: on streams {sorted(streams_of[article_id])}, "
                            f"expected each of {want_streams} once")
    tagged = sum(1 for i in ids if expected.get(i))
    if tagged == 0 or tagged == len(ids):
        problems.append(f"{tagged} of {len(ids)} articles tagged offline: the feed checks nothing")
    for problem in problems[:20]:
        print("verify:", problem, file=sys.stderr)
    if problems:
        return 1
    print(f"verify: all {len(ids)} articles arrived once per tag stream with the offline tags "
          f"({tagged} tagged, {len(ids) - tagged} untagged)")
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "generate":
        generate(int(argv[2]), argv[3])
        return 0
    if len(argv) == 4 and argv[1] == "seen":
        seen(argv[2], argv[3])
        return 0
    if len(argv) == 5 and argv[1] == "verify":
        return verify(argv[2], argv[3], argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
