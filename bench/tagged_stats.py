#!/usr/bin/python3
"""Tag statistics of a set of articles, for comparing the bench's synthetic mixes with real news.

Reads the TaggedArticle JSON lines that `topicwire tag` prints and reports, per article: tags,
evidence matches, the serialized (protobuf) size of the article and of the tagged article.

    build/bin/topicwire tag DATA/dev.jsonl | /usr/bin/python3 bench/tagged_stats.py

Needs Debian's python3-protobuf (hence /usr/bin/python3) and protoc, which the build uses too.
"""

import collections
import os
import subprocess
import sys
import tempfile


def load_article_module():
    """Generates proto/article.proto's Python module into a temporary directory and imports it."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # The module stays loaded once imported, so its directory can go.
    with tempfile.TemporaryDirectory(prefix="topicwire-tagged-stats-") as out_dir:
        subprocess.run(["protoc", f"--proto_path={repo}", f"--python_out={out_dir}",
                        os.path.join(repo, "proto", "article.proto")], check=True)
        sys.path.insert(0, out_dir)
        from proto import article_pb2  # pylint: disable=import-outside-toplevel
        sys.path.remove(out_dir)
    return article_pb2


def main():
    article_pb2 = load_article_module()
    from google.protobuf import json_format  # pylint: disable=import-outside-toplevel

    articles = 0
    tags = 0
    matches = 0
    article_bytes = 0
    tagged_bytes = 0
    tags_histogram = collections.Counter()
    for line in sys.stdin:
        if not line.strip():
            continue
        tagged = json_format.Parse(line, article_pb2.TaggedArticle())
        articles += 1
        tags += len(tagged.tags)
        tags_histogram[len(tagged.tags)] += 1
        matches += sum(len(tag.evidence) for tag in tagged.tags)
        article_bytes += tagged.article.ByteSize()
        tagged_bytes += tagged.ByteSize()
    if articles == 0:
        sys.exit("no TaggedArticle JSON lines on standard input")
    print(f"articles            {articles}")
    print(f"tags per article    {tags / articles:.2f}  (articles with 0/1/2/3+ tags: "
          f"{tags_histogram[0]}/{tags_histogram[1]}/{tags_histogram[2]}/"
          f"{articles - tags_histogram[0] - tags_histogram[1] - tags_histogram[2]})")
    print(f"matches per article {matches / articles:.1f}"
          + (f", per tag {matches / tags:.1f}" if tags else ""))
    print(f"article bytes       {article_bytes / articles:.0f}")
    print(f"tagged bytes        {tagged_bytes / articles:.0f}  "
          f"(tags and evidence: {(tagged_bytes - article_bytes) / articles:.0f})")


if __name__ == "__main__":
    main()
