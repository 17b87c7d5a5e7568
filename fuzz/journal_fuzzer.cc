// Fuzzes ingest's journal recovery: the input is written as the journal's SQLite file, as if the
// disk or another program had damaged it, then opened the way ingest starts (SqliteJournal::Open,
// LoadPending, ReadArticle of each pending record parsed as a v1::Article, as the dispatcher
// does) and used for one append and one commit. Any outcome but a crash or a broken journal
// invariant is fine: a damaged journal may fail to open with a Status.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_init.h"
#include "ingest/journal.h"
#include "proto/article.pb.h"

namespace topicwire::ingest {
namespace {

// One directory per fuzzing process (libFuzzer's -jobs/-workers run several at once).
const std::filesystem::path& WorkDir() {
  static const std::filesystem::path* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::filesystem::path base = tmp != nullptr ? tmp : "/tmp";
    if (std::filesystem::is_directory("/dev/shm")) base = "/dev/shm";  // no disk writes
    auto* path =
        new std::filesystem::path(base / absl::StrCat("topicwire-journal-fuzz-", getpid()));
    std::filesystem::create_directories(*path);
    return path;
  }();
  return *dir;
}

void RemoveJournalFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ignored;
    std::filesystem::remove(path + suffix, ignored);
  }
}

void Exercise(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open(path, SqliteJournalOptions{.fsync = false, .dedup_window = 4});
  if (!journal.ok()) {
    FUZZ_CHECK(!journal.status().message().empty());
    return;
  }
  absl::StatusOr<std::vector<PendingRecord>> pending = (*journal)->LoadPending();
  if (!pending.ok()) return;
  // Only the schema ingest creates is trusted to keep journal_seq ordered, so the recovered
  // records are only read here, not checked.
  size_t read = 0;
  for (const PendingRecord& record : *pending) {
    if (++read > 64) break;
    absl::StatusOr<std::string> serialized = (*journal)->ReadArticle(record.journal_seq);
    if (serialized.ok()) {
      v1::Article article;
      (void)article.ParseFromString(*serialized);  // a bad record is requeued, not fatal
    }
    (void)(*journal)->ContainsId(record.article_id);
  }
  (void)(*journal)->SizeBytes();

  // The journal must still work after recovery: a new record can be read back until it is
  // committed.
  const std::string id = "fuzz-new-record";
  absl::StatusOr<std::vector<uint64_t>> appended =
      (*journal)->Append({NewRecord{.article_id = id, .serialized_article = "\x1a\x01x"}},
                         absl::FromUnixSeconds(1'750'000'000));
  if (!appended.ok()) return;  // e.g. the damaged schema has no usable records table
  FUZZ_CHECK(appended->size() == 1);
  const uint64_t seq = appended->front();
  absl::StatusOr<std::string> article = (*journal)->ReadArticle(seq);
  if (article.ok()) FUZZ_CHECK(*article == "\x1a\x01x");
  absl::StatusOr<std::vector<uint64_t>> committed = (*journal)->MarkCommitted({{seq, id}});
  if (committed.ok()) {
    FUZZ_CHECK(committed->size() <= 1);
    absl::StatusOr<std::string> gone = (*journal)->ReadArticle(seq);
    if (committed->size() == 1) FUZZ_CHECK(!gone.ok());
  }
}

void TestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (WorkDir() / "journal.db").string();
  RemoveJournalFiles(path);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    FUZZ_CHECK(out.good());
  }
  Exercise(path);
  RemoveJournalFiles(path);
}

}  // namespace
}  // namespace topicwire::ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicwire::ingest::TestOneInput(data, size);
  return 0;
}
