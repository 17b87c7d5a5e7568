// The durable journal of accepted articles: what makes ACCEPTED a promise. Each record holds a
// journal sequence number (the delivery handle sink confirms), the article id and the
// serialized Article until sink confirms it; confirmed records keep only their id, inside a
// bounded window, to answer DUPLICATE.
#ifndef TOPICWIRE_INGEST_JOURNAL_H_
#define TOPICWIRE_INGEST_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace topicwire::sqlite {
class Database;
}  // namespace topicwire::sqlite

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
  // Failed delivery attempts persisted so far (survives restarts).
  uint32_t attempts = 0;
  // When the first delivery attempt was made; absl::InfinitePast() when none yet.
  absl::Time first_attempt = absl::InfinitePast();
};

// Why and when a record's delivery failed (a worker said `failed`, vanished, or timed out).
struct DeliveryFailure {
  uint32_t attempts = 0;  // attempts made so far, including the failed one
  absl::Time first_attempt;
  absl::Time last_attempt;
  std::string reason;
};

// An article set aside after too many failed delivery attempts (a poison message), as listed:
// what a user needs to decide on it, without the article's bytes.
struct DeadLetter {
  uint64_t journal_seq = 0;
  std::string article_id;
  std::string title;  // the article's title, kept when it became a dead letter
  absl::Time accepted_at;
  DeliveryFailure failure;
};

// What Open() found and repaired in an existing journal.
struct JournalRecovery {
  // Records whose checksum did not match, moved to the quarantine file.
  int64_t quarantined_records = 0;
  // The database file itself was damaged: moved aside and replaced by a fresh one.
  bool database_replaced = false;
  // Pending records copied from a damaged database into the fresh one.
  int64_t salvaged_records = 0;
  // Where quarantined records (JSON lines) or the damaged database went; empty when none.
  std::string quarantine_path;
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

  // Persists a failed delivery attempt of a pending record (not fsync'd: losing it only costs
  // one more attempt).
  virtual absl::Status RecordFailure(uint64_t journal_seq, const DeliveryFailure& failure) = 0;
  // Moves a pending record to the dead letters (kept, never dropped); its id stays in the
  // dedup window. kNotFound when it is not pending.
  virtual absl::Status MoveToDeadLetters(uint64_t journal_seq, const DeliveryFailure& failure) = 0;
  // At most `limit` dead letters whose journal_seq is above `after_seq`, oldest first. Reads no
  // article bytes.
  virtual absl::StatusOr<std::vector<DeadLetter>> ListDeadLetters(uint64_t after_seq,
                                                                  int64_t limit) = 0;
  // Number of dead letters held.
  virtual absl::StatusOr<int64_t> CountDeadLetters() = 0;
  // Makes dead letters pending again, with a fresh attempt budget, and returns them, oldest
  // first: when `all`, at most `limit` whose journal_seq is above `after_seq`; else those with
  // these article ids (`after_seq` and `limit` unused).
  virtual absl::StatusOr<std::vector<PendingRecord>> ReplayDeadLetters(
      const std::vector<std::string>& article_ids, bool all, uint64_t after_seq, int64_t limit) = 0;
  // What opening the journal found and repaired.
  virtual JournalRecovery recovery() const { return {}; }
};

struct SqliteJournalOptions {
  // true: every Append is fsync'd before it returns (PRAGMA synchronous=FULL). false: NORMAL,
  // faster, and a power loss may lose the last transactions (a crash of ingest alone does not).
  bool fsync = true;
  // Upper bound on the database size in bytes (PRAGMA max_page_count); 0: no bound. Reaching it
  // behaves like a full disk: appends fail with kResourceExhausted until space is freed.
  int64_t max_bytes = 0;
  // How many of the most recently accepted ids are remembered for DUPLICATE answers; older
  // committed records are deleted. Pending records are kept however old they are.
  int64_t dedup_window = 10'000'000;
};

// The journal as one SQLite database in WAL mode, with incremental auto-vacuum so that space
// freed by committed records is given back.
class SqliteJournal : public Journal {
 public:
  // Opens or creates the journal at `path` (its directory is created when missing). Verifies
  // the file (PRAGMA quick_check) and each pending record's checksum: a damaged file is moved
  // aside to `path`.damaged-<time> and replaced by a fresh journal holding what could be read;
  // a record whose checksum fails is moved to `path`.quarantine.jsonl. Both are logged and
  // reported by recovery(). Append fails with kResourceExhausted when the disk is full.
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
  absl::Status RecordFailure(uint64_t journal_seq, const DeliveryFailure& failure) override;
  absl::Status MoveToDeadLetters(uint64_t journal_seq, const DeliveryFailure& failure) override;
  absl::StatusOr<std::vector<DeadLetter>> ListDeadLetters(uint64_t after_seq,
                                                          int64_t limit) override;
  absl::StatusOr<int64_t> CountDeadLetters() override;
  absl::StatusOr<std::vector<PendingRecord>> ReplayDeadLetters(
      const std::vector<std::string>& article_ids, bool all, uint64_t after_seq,
      int64_t limit) override;
  JournalRecovery recovery() const override { return recovery_; }

  // The checksum stored with each record: CRC-32 over the sequence number, id and article.
  static uint32_t RecordChecksum(uint64_t journal_seq, absl::string_view article_id,
                                 absl::string_view serialized_article);

  // Number of records (pending and committed) held, for tests of the window bound.
  absl::StatusOr<int64_t> RecordCount();

 private:
  SqliteJournal(std::string path, std::unique_ptr<sqlite::Database> db,
                const SqliteJournalOptions& options);
  static absl::StatusOr<std::unique_ptr<SqliteJournal>> OpenFile(
      const std::string& path, const SqliteJournalOptions& options);
  absl::Status CreateSchema();
  // Adds the title column to dead letters written before it existed and fills it.
  absl::Status AddTitlesToDeadLetters();
  // True when PRAGMA quick_check passes.
  bool Healthy();
  // Moves pending records whose checksum fails to the quarantine file.
  absl::Status QuarantineCorruptRecords();
  // `status` of a write, except that a full disk becomes kResourceExhausted with a reason
  // publishers can read.
  absl::Status WriteStatus(absl::Status status) const;
  // Runs `body` in one transaction that skips the fsync (for marks whose loss is harmless).
  absl::Status ExecUnsynced(const std::function<absl::Status()>& body);
  absl::Status MarkCommittedInTransaction(const std::vector<CommitMark>& marks,
                                          std::vector<uint64_t>& matched);
  // Deletes committed records older than the dedup window.
  absl::Status TrimWindow();

  std::string path_;
  // Its statement cache keeps each statement prepared once: preparing costs more than running
  // the statements of one article.
  std::unique_ptr<sqlite::Database> db_;
  SqliteJournalOptions options_;
  JournalRecovery recovery_;
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
  absl::Status RecordFailure(uint64_t journal_seq, const DeliveryFailure& failure) override;
  absl::Status MoveToDeadLetters(uint64_t journal_seq, const DeliveryFailure& failure) override;
  absl::StatusOr<std::vector<DeadLetter>> ListDeadLetters(uint64_t after_seq,
                                                          int64_t limit) override;
  absl::StatusOr<int64_t> CountDeadLetters() override;
  absl::StatusOr<std::vector<PendingRecord>> ReplayDeadLetters(
      const std::vector<std::string>& article_ids, bool all, uint64_t after_seq,
      int64_t limit) override;

  // When set, Append fails with this status (to test how the stage handles a failing disk).
  void FailAppends(absl::Status status) { append_failure_ = std::move(status); }

 private:
  void TrimWindow();
  struct Record {
    std::string article_id;
    std::string article;  // empty once committed
    absl::Time accepted_at;
    bool committed = false;
    bool dead = false;
    std::string title = {};  // set when it became a dead letter
    DeliveryFailure failure = {};
  };
  int64_t dedup_window_;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, Record> records_;
  absl::Status append_failure_;
};

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_JOURNAL_H_
