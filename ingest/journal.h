// The durable journal of accepted articles: what makes ACCEPTED a promise. Each record holds a
// journal sequence number (the delivery handle sink confirms), the article id and the
// serialized Article until sink confirms it; confirmed records keep only their id, inside a
// bounded window, to answer DUPLICATE.
#ifndef TOPICWIRE_INGEST_JOURNAL_H_
#define TOPICWIRE_INGEST_JOURNAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct sqlite3;

namespace topicwire::ingest {

// An article to append: its id and its serialized v1::Article.
struct NewRecord {
  std::string article_id;
  std::string serialized_article;
};

// What the stage keeps in memory about a record not yet confirmed by sink (no article bytes,
// so memory stays small however large the articles are).
struct PendingRecord {
  uint64_t journal_seq = 0;
  std::string article_id;
  absl::Time accepted_at;
};

// A (journal_seq, article_id) pair as sink confirms it in a CommitAck.
using CommitMark = std::pair<uint64_t, std::string>;

// Narrow interface so that the stage can run on the SQLite journal or an in-memory fake.
// Not thread-safe: one stage thread owns it.
class Journal {
 public:
  virtual ~Journal() = default;

  // Appends `records` in one transaction that is durable (per the journal's fsync setting) when
  // this returns OK, and returns their journal sequence numbers in order. Sequence numbers
  // increase and are never reused.
  virtual absl::StatusOr<std::vector<uint64_t>> Append(const std::vector<NewRecord>& records,
                                                       absl::Time accepted_at) = 0;
  // True when an article with `article_id` was accepted and is still inside the dedup window.
  virtual absl::StatusOr<bool> ContainsId(absl::string_view article_id) = 0;
  // Marks each pending record matching (journal_seq, article_id) committed and drops its
  // article bytes; the id stays in the dedup window. Returns the sequence numbers that matched.
  // Not fsync'd: a lost mark only causes a redelivery that sink deduplicates.
  virtual absl::StatusOr<std::vector<uint64_t>> MarkCommitted(
      const std::vector<CommitMark>& marks) = 0;
  // Every record not yet committed, oldest first.
  virtual absl::StatusOr<std::vector<PendingRecord>> LoadPending() = 0;
  // The serialized article of a pending record; kNotFound when it is unknown or committed.
  virtual absl::StatusOr<std::string> ReadArticle(uint64_t journal_seq) = 0;
  // Bytes the journal occupies (for the journal_bytes gauge).
  virtual int64_t SizeBytes() = 0;
};

struct SqliteJournalOptions {
  // true: every Append is fsync'd before it returns (PRAGMA synchronous=FULL). false: NORMAL,
  // faster, and a power loss may lose the last transactions (a crash of ingest alone does not).
  bool fsync = true;
  // How many of the most recently accepted ids are remembered for DUPLICATE answers; older
  // committed records are deleted. Pending records are kept however old they are.
  int64_t dedup_window = 10'000'000;
};

// The journal as one SQLite database in WAL mode, with incremental auto-vacuum so that space
// freed by committed records is given back.
class SqliteJournal : public Journal {
 public:
  // Opens or creates the journal at `path` (its directory is created when missing).
  static absl::StatusOr<std::unique_ptr<SqliteJournal>> Open(const std::string& path,
                                                             const SqliteJournalOptions& options);
  ~SqliteJournal() override;
  SqliteJournal(const SqliteJournal&) = delete;
  SqliteJournal& operator=(const SqliteJournal&) = delete;

  absl::StatusOr<std::vector<uint64_t>> Append(const std::vector<NewRecord>& records,
                                               absl::Time accepted_at) override;
  absl::StatusOr<bool> ContainsId(absl::string_view article_id) override;
  absl::StatusOr<std::vector<uint64_t>> MarkCommitted(
      const std::vector<CommitMark>& marks) override;
  absl::StatusOr<std::vector<PendingRecord>> LoadPending() override;
  absl::StatusOr<std::string> ReadArticle(uint64_t journal_seq) override;
  int64_t SizeBytes() override;

  // Number of records (pending and committed) held, for tests of the window bound.
  absl::StatusOr<int64_t> RecordCount();

 private:
  SqliteJournal(std::string path, sqlite3* db, const SqliteJournalOptions& options)
      : path_(std::move(path)), db_(db), options_(options) {}
  absl::Status Exec(const char* sql);
  absl::Status Error(absl::string_view what) const;
  absl::Status MarkCommittedInTransaction(const std::vector<CommitMark>& marks,
                                          std::vector<uint64_t>& matched);
  // Deletes committed records older than the dedup window.
  absl::Status TrimWindow();

  std::string path_;
  sqlite3* db_;
  SqliteJournalOptions options_;
};

// In-memory Journal for tests: same semantics, nothing durable.
class InMemoryJournal : public Journal {
 public:
  explicit InMemoryJournal(int64_t dedup_window = 10'000'000) : dedup_window_(dedup_window) {}

  absl::StatusOr<std::vector<uint64_t>> Append(const std::vector<NewRecord>& records,
                                               absl::Time accepted_at) override;
  absl::StatusOr<bool> ContainsId(absl::string_view article_id) override;
  absl::StatusOr<std::vector<uint64_t>> MarkCommitted(
      const std::vector<CommitMark>& marks) override;
  absl::StatusOr<std::vector<PendingRecord>> LoadPending() override;
  absl::StatusOr<std::string> ReadArticle(uint64_t journal_seq) override;
  int64_t SizeBytes() override;

  // When set, Append fails with this status (to test how the stage handles a failing disk).
  void FailAppends(absl::Status status) { append_failure_ = std::move(status); }

 private:
  struct Record {
    std::string article_id;
    std::string article;  // empty once committed
    absl::Time accepted_at;
    bool committed = false;
  };
  int64_t dedup_window_;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, Record> records_;
  absl::Status append_failure_;
};

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_JOURNAL_H_
