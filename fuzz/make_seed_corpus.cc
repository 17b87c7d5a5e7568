// Writes the binary seed inputs of the fuzz targets: publish frames (publish_frame_fuzzer),
// Delivery + HistoryRequest frame sequences (sink_delivery_fuzzer) and small journal files
// (journal_fuzzer). Deterministic, so regenerating changes nothing unless this file changes.
// Usage: fuzz_make_seed_corpus <corpus dir, e.g. fuzz/corpus>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fuzz/frames.h"
#include "ingest/journal.h"
#include "ingest/lenient_publish.pb.h"
#include "proto/article.pb.h"
#include "proto/history.pb.h"
#include "proto/internal.pb.h"
#include "tests/testing/articles.h"

namespace topicwire::fuzz {
namespace {

namespace fs = std::filesystem;
using ::topicwire::testing::MakeArticle;

bool WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return out.good();
}

std::vector<std::string> PublishFrames() {
  std::vector<std::string> frames;
  auto add = [&frames](const v1::PublishRequest& request) {
    frames.push_back(request.SerializeAsString());
  };
  v1::PublishRequest request;
  *request.add_articles() = MakeArticle("", "Robots learn to fold laundry", "");
  add(request);

  request.Clear();
  v1::Article* full = request.add_articles();
  *full = MakeArticle("wire-0001", "Quantum chip reaches new fidelity",
                      "# Lab notes\n\nA *superconducting* qubit array was measured.");
  full->set_url("https://Example.COM:443/news/q/?utm_source=feed&b=2#top");
  full->set_language("en");
  full->set_source("fuzz-wire");
  full->add_authors("A. Author");
  full->add_authors("B. Writer");
  full->mutable_published_at()->set_seconds(1'750'000'000);
  full->mutable_published_at()->set_nanos(5);
  (*full->mutable_attributes())["section"] = "science";
  (*full->mutable_attributes())["rank"] = "1";
  *request.add_articles() = MakeArticle("wire-0002", "", "Body only, no headline.");
  *request.add_articles() = MakeArticle("", "人工智能大模型发布", "量子计算与具身智能的进展。");
  add(request);

  request.Clear();  // duplicate ids within one frame, and an empty article
  *request.add_articles() = MakeArticle("same", "one", "first");
  *request.add_articles() = MakeArticle("same", "two", "second");
  *request.add_articles() = MakeArticle("", "", "");
  add(request);

  request.Clear();  // URLs ingest must refuse or canonicalize
  for (const char* url : {"ftp://example.com/a", "http://", "https:///path", "example.com/x",
                          "http://host:99999/", "HTTP://EXAMPLE.com:80/a/b/", "http://[::1]:8080/",
                          "https://user@host/p?q=1&utm_medium=x"}) {
    v1::Article* article = request.add_articles();
    *article = MakeArticle("", "URL check", "text");
    article->set_url(url);
  }
  add(request);

  request.Clear();  // ids: too long, control characters
  *request.add_articles() = MakeArticle(std::string(300, 'i'), "long id", "");
  *request.add_articles() = MakeArticle("tab\there", "control id", "");
  add(request);

  add(v1::PublishRequest());  // no articles at all

  // Invalid UTF-8 in one field of one article: only that article is refused.
  ingest::lenient::LenientPublishRequest lenient;
  ingest::lenient::LenientArticle bad;
  bad.set_id("bad-utf8");
  bad.set_title("caf\xc3");
  bad.set_body("overlong \xc0\xaf and surrogate \xed\xa0\x80");
  lenient.add_articles(bad.SerializeAsString());
  lenient.add_articles(MakeArticle("good", "fine", "").SerializeAsString());
  frames.push_back(lenient.SerializeAsString());

  frames.push_back("not a protobuf at all");
  frames.push_back(std::string("\x0a\x05\x0a\x03\xff\xfe\xfd", 7));
  return frames;
}

v1::Delivery MakeDelivery(uint64_t seq, const std::string& id, std::vector<std::string> topics) {
  v1::Delivery delivery;
  delivery.set_journal_seq(seq);
  v1::TaggedArticle* tagged = delivery.mutable_tagged();
  *tagged->mutable_article() = MakeArticle(id, absl::StrCat("Title ", id), "body text");
  tagged->set_taxonomy_version("fuzz-1");
  tagged->mutable_accepted_at()->set_seconds(1'749'999'000);
  for (const std::string& topic : topics) {
    v1::Tag* tag = tagged->add_tags();
    tag->set_topic(topic);
    tag->set_score(1.5);
    tag->set_threshold(1);
    v1::Evidence* evidence = tag->add_evidence();
    evidence->set_term(topic);
    evidence->set_matched_text(topic);
    evidence->set_field(v1::TEXT_FIELD_TITLE);
    evidence->set_start(0);
    evidence->set_end(static_cast<uint32_t>(topic.size()));
  }
  return delivery;
}

std::vector<std::string> SinkInputs() {
  const std::vector<v1::Delivery> deliveries = {
      MakeDelivery(1, "a1", {"ai"}), MakeDelivery(2, "a2", {"ai", "quantum"}),
      MakeDelivery(3, "a3", {}),     MakeDelivery(4, "a1", {"ai"}),  // redelivered
      MakeDelivery(5, "", {"ai"}),   MakeDelivery(6, "a6", {"quantum", "quantum"}),
  };
  std::vector<v1::HistoryRequest> requests(7);
  requests[1].set_after_sequence(2);
  requests[2].add_topics("ai");
  requests[2].set_limit(1);
  requests[3].mutable_since_time()->set_seconds(1'700'000'000);
  requests[4].add_topics("untagged");
  requests[4].add_topics("quantum");
  requests[5].mutable_since_time()->set_seconds(1'700'000'000);
  requests[5].set_after_sequence(1);  // refused: both
  requests[6].add_topics("");         // refused: empty topic
  std::vector<std::string> inputs;
  for (size_t r = 0; r < requests.size(); ++r) {
    std::string input;
    // Seed r holds the first r deliveries (at least one), then its history request.
    for (size_t d = 0; d < std::max<size_t>(1, r) && d < deliveries.size(); ++d) {
      AppendFrame(input, deliveries[d].SerializeAsString());
    }
    if (r == 6) {
      for (const v1::Delivery& delivery : deliveries) {
        AppendFrame(input, delivery.SerializeAsString());
      }
    }
    AppendFrame(input, requests[r].SerializeAsString());
    inputs.push_back(std::move(input));
  }
  inputs.push_back(std::string("\x05\x00garbage\x02\x00\x08\x01", 13));
  return inputs;
}

bool ExecSql(const fs::path& path, const char* sql) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
            sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  if (!ok) std::cerr << path << ": " << sqlite3_errmsg(db) << "\n";
  sqlite3_close(db);
  return ok;
}

// A journal with `pending` pending and `committed` committed records, shrunk to 512-byte pages
// so that the seed stays small, in the WAL mode ingest leaves it in.
bool MakeJournal(const fs::path& path, int pending, int committed, const char* extra_sql) {
  fs::remove(path);
  {
    absl::StatusOr<std::unique_ptr<ingest::SqliteJournal>> journal =
        ingest::SqliteJournal::Open(path.string(), {.fsync = false, .dedup_window = 100});
    if (!journal.ok()) {
      std::cerr << journal.status() << "\n";
      return false;
    }
    std::vector<ingest::NewRecord> records;
    for (int i = 0; i < pending + committed; ++i) {
      const v1::Article article =
          MakeArticle(absl::StrCat("j", i), absl::StrCat("Journal title ", i), "journal body");
      records.push_back(
          {.article_id = article.id(), .serialized_article = article.SerializeAsString()});
    }
    absl::StatusOr<std::vector<uint64_t>> seqs =
        (*journal)->Append(records, absl::FromUnixSeconds(1'750'000'000));
    if (!seqs.ok()) return false;
    std::vector<ingest::CommitMark> marks;
    for (int i = 0; i < committed; ++i) marks.emplace_back((*seqs)[i], records[i].article_id);
    if (!(*journal)->MarkCommitted(marks).ok()) return false;
  }
  if (extra_sql != nullptr && !ExecSql(path, extra_sql)) return false;
  return ExecSql(path,
                 "PRAGMA journal_mode=DELETE; PRAGMA page_size=512; VACUUM; "
                 "PRAGMA journal_mode=WAL;");
}

int Run(const fs::path& root) {
  for (const char* target : {"publish_frame_fuzzer", "sink_delivery_fuzzer", "journal_fuzzer"}) {
    fs::create_directories(root / target);
  }
  bool ok = true;
  const std::vector<std::string> frames = PublishFrames();
  for (size_t i = 0; i < frames.size(); ++i) {
    ok &= WriteFile(root / "publish_frame_fuzzer" / absl::StrCat("frame-", i, ".pb"), frames[i]);
  }
  const std::vector<std::string> sink = SinkInputs();
  for (size_t i = 0; i < sink.size(); ++i) {
    ok &= WriteFile(root / "sink_delivery_fuzzer" / absl::StrCat("frames-", i, ".bin"), sink[i]);
  }
  const fs::path journals = root / "journal_fuzzer";
  ok &= MakeJournal(journals / "empty.db", 0, 0, nullptr);
  ok &= MakeJournal(journals / "pending.db", 3, 0, nullptr);
  ok &= MakeJournal(journals / "mixed.db", 2, 3, nullptr);
  // Damage a real journal could show: a NULL article, a huge timestamp, a non-protobuf article.
  ok &= MakeJournal(journals / "odd-rows.db", 3, 0,
                    "UPDATE records SET article = NULL WHERE journal_seq = 1;"
                    "UPDATE records SET accepted_at_us = 9223372036854775807 WHERE journal_seq = 2;"
                    "UPDATE records SET article = x'ffffffff' WHERE journal_seq = 3;");
  ok &= MakeJournal(journals / "foreign-schema.db", 0, 0,
                    "DROP TABLE records; CREATE TABLE records (journal_seq TEXT, article_id BLOB);"
                    "INSERT INTO records VALUES ('x', x'00');");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace topicwire::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " <corpus dir, e.g. fuzz/corpus>\n";
    return 2;
  }
  return topicwire::fuzz::Run(argv[1]);
}
