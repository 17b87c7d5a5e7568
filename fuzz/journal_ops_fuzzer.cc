// Differential fuzzing of ingest's journal: one sequence of operations (append, duplicate
// lookup, commit marks, recovery after a restart, reads) runs against the SQLite journal and the
// in-memory fake the stage tests rely on; both must give the same answers, so the fake stays
// faithful and the SQLite journal keeps its documented semantics across reopening.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_init.h"
#include "fuzzer/FuzzedDataProvider.h"
#include "ingest/journal.h"

namespace topicwire::ingest {
namespace {

constexpr int64_t kDedupWindow = 5;

const std::string& JournalPath() {
  static const std::string* path = [] {
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                     ? std::filesystem::path("/dev/shm")
                                     : std::filesystem::temp_directory_path();
    const std::filesystem::path dir = base / absl::StrCat("topicwire-journal-ops-fuzz-", getpid());
    std::filesystem::create_directories(dir);
    return new std::string((dir / "journal.db").string());
  }();
  return *path;
}

void RemoveJournal() {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ignored;
    std::filesystem::remove(JournalPath() + suffix, ignored);
  }
}

std::unique_ptr<SqliteJournal> OpenJournal() {
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal = SqliteJournal::Open(
      JournalPath(),
      // The fake bounds its window by count only, so the byte and age bounds are off here.
      SqliteJournalOptions{.fsync = false,
                           .dedup_window = kDedupWindow,
                           .dedup_window_bytes = 0,
                           .dedup_window_age = absl::InfiniteDuration()});
  FUZZ_CHECK(journal.ok());
  return *std::move(journal);
}

// Few distinct ids, so that duplicates and re-appends are common.
std::string PickId(FuzzedDataProvider& input) {
  return absl::StrCat("id-", input.ConsumeIntegralInRange<int>(0, 7));
}

void CheckSamePending(Journal& real, Journal& fake) {
  absl::StatusOr<std::vector<PendingRecord>> got = real.LoadPending();
  absl::StatusOr<std::vector<PendingRecord>> want = fake.LoadPending();
  FUZZ_CHECK(got.ok() && want.ok());
  FUZZ_CHECK(got->size() == want->size());
  for (size_t i = 0; i < got->size(); ++i) {
    FUZZ_CHECK((*got)[i].journal_seq == (*want)[i].journal_seq);
    FUZZ_CHECK((*got)[i].article_id == (*want)[i].article_id);
    FUZZ_CHECK((*got)[i].accepted_at == (*want)[i].accepted_at);
  }
}

void TestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  RemoveJournal();
  std::unique_ptr<SqliteJournal> real = OpenJournal();
  InMemoryJournal fake(kDedupWindow);
  uint64_t last_seq = 0;
  absl::Time now = absl::FromUnixSeconds(1'750'000'000);
  for (int step = 0; step < 64 && input.remaining_bytes() > 0; ++step) {
    switch (input.ConsumeIntegralInRange<int>(0, 5)) {
      case 0: {  // a group commit of a few articles
        std::vector<NewRecord> records(input.ConsumeIntegralInRange<size_t>(0, 4));
        for (NewRecord& record : records) {
          record.article_id = PickId(input);
          record.serialized_article = input.ConsumeRandomLengthString(64);
        }
        now += absl::Milliseconds(input.ConsumeIntegralInRange<int>(0, 5000));
        absl::StatusOr<std::vector<uint64_t>> got = real->Append(records, now);
        absl::StatusOr<std::vector<uint64_t>> want = fake.Append(records, now);
        FUZZ_CHECK(got.ok() && want.ok());
        FUZZ_CHECK(*got == *want);
        for (uint64_t seq : *got) {
          FUZZ_CHECK(seq > last_seq);  // increasing, never reused
          last_seq = seq;
        }
        break;
      }
      case 1: {  // the DUPLICATE question
        const std::string id = PickId(input);
        absl::StatusOr<bool> got = real->ContainsId(id);
        absl::StatusOr<bool> want = fake.ContainsId(id);
        FUZZ_CHECK(got.ok() && want.ok());
        FUZZ_CHECK(*got == *want);
        break;
      }
      case 2: {  // a CommitAck, possibly late, repeated or naming the wrong article
        std::vector<CommitMark> marks(input.ConsumeIntegralInRange<size_t>(0, 4));
        for (CommitMark& mark : marks) {
          mark.first = input.ConsumeIntegralInRange<uint64_t>(0, last_seq + 1);
          mark.second = PickId(input);
        }
        absl::StatusOr<std::vector<uint64_t>> got = real->MarkCommitted(marks);
        absl::StatusOr<std::vector<uint64_t>> want = fake.MarkCommitted(marks);
        FUZZ_CHECK(got.ok() && want.ok());
        FUZZ_CHECK(*got == *want);
        break;
      }
      case 3: {  // the dispatcher reading an article
        const uint64_t seq = input.ConsumeIntegralInRange<uint64_t>(0, last_seq + 1);
        absl::StatusOr<std::string> got = real->ReadArticle(seq);
        absl::StatusOr<std::string> want = fake.ReadArticle(seq);
        FUZZ_CHECK(got.ok() == want.ok());
        if (got.ok()) FUZZ_CHECK(*got == *want);
        if (!got.ok()) FUZZ_CHECK(got.status().code() == absl::StatusCode::kNotFound);
        break;
      }
      case 4:  // ingest restarts: only what the SQLite file holds survives
        real.reset();
        real = OpenJournal();
        CheckSamePending(*real, fake);
        break;
      case 5:
        CheckSamePending(*real, fake);
        break;
    }
  }
  CheckSamePending(*real, fake);
  real.reset();
  RemoveJournal();
}

}  // namespace
}  // namespace topicwire::ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicwire::ingest::TestOneInput(data, size);
  return 0;
}
