#include "ingest/journal.h"

#include <sqlite3.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace topicwire::ingest {
namespace {

// Owns one prepared statement; finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void BindInt(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void BindText(int index, absl::string_view value) {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  }
  void BindBlob(int index, absl::string_view value) {
    sqlite3_bind_blob(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  }
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string ColumnText(int column) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    return data == nullptr ? std::string() : std::string(data, sqlite3_column_bytes(stmt_, column));
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

// Rolls back an open transaction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  int Begin() {
    const int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    open_ = rc == SQLITE_OK;
    return rc;
  }
  int Commit() {
    const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) open_ = false;
    return rc;
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

int64_t ToMicros(absl::Time time) { return absl::ToUnixMicros(time); }

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteJournal>> SqliteJournal::Open(
    const std::string& path, const SqliteJournalOptions& options) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) {
      return absl::UnavailableError(absl::StrCat("cannot create the journal directory ",
                                                 parent.string(), ": ", error.message()));
    }
  }
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::UnavailableError(
        absl::StrCat("cannot open the journal ", path, ": ", message,
                     " (check --journal and the directory's permissions)"));
  }
  std::unique_ptr<SqliteJournal> journal(new SqliteJournal(path, db, options));
  // Another process (a test, an operator's sqlite3 shell) may hold the lock for a moment.
  sqlite3_busy_timeout(db, 5000);
  // auto_vacuum only takes effect when set before the first table exists.
  RETURN_IF_ERROR(journal->Exec("PRAGMA auto_vacuum = INCREMENTAL"));
  RETURN_IF_ERROR(journal->Exec("PRAGMA journal_mode = WAL"));
  RETURN_IF_ERROR(
      journal->Exec(options.fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
  // AUTOINCREMENT: a journal_seq is never reused, even after the newest record is deleted, so a
  // late CommitAck can never confirm the wrong record.
  RETURN_IF_ERROR(
      journal->Exec("CREATE TABLE IF NOT EXISTS records ("
                    "  journal_seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                    "  article_id TEXT NOT NULL,"
                    "  article BLOB,"  // NULL once sink confirmed the record
                    "  accepted_at_us INTEGER NOT NULL,"
                    "  committed INTEGER NOT NULL DEFAULT 0)"));
  RETURN_IF_ERROR(
      journal->Exec("CREATE INDEX IF NOT EXISTS records_by_id ON records (article_id)"));
  RETURN_IF_ERROR(journal->Exec(
      "CREATE INDEX IF NOT EXISTS pending_records ON records (journal_seq) WHERE committed = 0"));
  return journal;
}

SqliteJournal::~SqliteJournal() { sqlite3_close(db_); }

absl::Status SqliteJournal::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return Error(sql);
  return absl::OkStatus();
}

absl::Status SqliteJournal::Error(absl::string_view what) const {
  return absl::UnavailableError(
      absl::StrCat("journal ", path_, ": ", what, ": ", sqlite3_errmsg(db_)));
}

absl::Status SqliteJournal::TrimWindow() {
  Statement trim(db_,
                 "DELETE FROM records WHERE committed = 1 AND journal_seq <= "
                 "(SELECT MAX(journal_seq) FROM records) - ?");
  if (!trim.prepared()) return Error("preparing the window trim");
  trim.BindInt(1, options_.dedup_window);
  if (trim.Step() != SQLITE_DONE) return Error("trimming the dedup window");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint64_t>> SqliteJournal::Append(const std::vector<NewRecord>& records,
                                                            absl::Time accepted_at) {
  std::vector<uint64_t> seqs;
  if (records.empty()) return seqs;
  Transaction transaction(db_);
  if (transaction.Begin() != SQLITE_OK) return Error("beginning the append");
  Statement insert(db_,
                   "INSERT INTO records (article_id, article, accepted_at_us) VALUES (?, ?, ?)");
  if (!insert.prepared()) return Error("preparing the append");
  seqs.reserve(records.size());
  for (const NewRecord& record : records) {
    insert.BindText(1, record.article_id);
    insert.BindBlob(2, record.serialized_article);
    insert.BindInt(3, ToMicros(accepted_at));
    if (insert.Step() != SQLITE_DONE) return Error("appending an article");
    insert.Reset();
    seqs.push_back(static_cast<uint64_t>(sqlite3_last_insert_rowid(db_)));
  }
  RETURN_IF_ERROR(TrimWindow());
  // With synchronous=FULL in WAL mode, COMMIT returns after the WAL is fsync'd.
  if (transaction.Commit() != SQLITE_OK) return Error("committing the append");
  return seqs;
}

absl::StatusOr<bool> SqliteJournal::ContainsId(absl::string_view article_id) {
  Statement select(db_, "SELECT 1 FROM records WHERE article_id = ? LIMIT 1");
  if (!select.prepared()) return Error("preparing the id lookup");
  select.BindText(1, article_id);
  const int rc = select.Step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error("looking up an id");
}

absl::StatusOr<std::vector<uint64_t>> SqliteJournal::MarkCommitted(
    const std::vector<CommitMark>& marks) {
  std::vector<uint64_t> matched;
  if (marks.empty()) return matched;
  // Commit marks skip the fsync: losing one only causes a redelivery that sink deduplicates.
  // The next append's fsync makes these WAL frames durable too.
  if (options_.fsync) RETURN_IF_ERROR(Exec("PRAGMA synchronous = NORMAL"));
  absl::Status status = MarkCommittedInTransaction(marks, matched);
  // Give the pages of the dropped articles back to the file system.
  if (status.ok()) status = Exec("PRAGMA incremental_vacuum");
  if (options_.fsync) status.Update(Exec("PRAGMA synchronous = FULL"));
  if (!status.ok()) return status;
  return matched;
}

absl::Status SqliteJournal::MarkCommittedInTransaction(const std::vector<CommitMark>& marks,
                                                       std::vector<uint64_t>& matched) {
  Transaction transaction(db_);
  if (transaction.Begin() != SQLITE_OK) return Error("beginning the commit marks");
  Statement update(db_,
                   "UPDATE records SET committed = 1, article = NULL "
                   "WHERE journal_seq = ? AND article_id = ? AND committed = 0");
  if (!update.prepared()) return Error("preparing the commit marks");
  for (const auto& [seq, id] : marks) {
    update.BindInt(1, static_cast<int64_t>(seq));
    update.BindText(2, id);
    if (update.Step() != SQLITE_DONE) return Error("marking a record committed");
    if (sqlite3_changes(db_) > 0) matched.push_back(seq);
    update.Reset();
  }
  RETURN_IF_ERROR(TrimWindow());
  if (transaction.Commit() != SQLITE_OK) return Error("committing the commit marks");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PendingRecord>> SqliteJournal::LoadPending() {
  Statement select(db_,
                   "SELECT journal_seq, article_id, accepted_at_us FROM records "
                   "WHERE committed = 0 ORDER BY journal_seq");
  if (!select.prepared()) return Error("preparing the pending scan");
  std::vector<PendingRecord> pending;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW) {
    pending.push_back(
        PendingRecord{.journal_seq = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0)),
                      .article_id = select.ColumnText(1),
                      .accepted_at = absl::FromUnixMicros(sqlite3_column_int64(select.get(), 2))});
  }
  if (rc != SQLITE_DONE) return Error("reading pending records");
  return pending;
}

absl::StatusOr<std::string> SqliteJournal::ReadArticle(uint64_t journal_seq) {
  Statement select(db_, "SELECT article FROM records WHERE journal_seq = ? AND committed = 0");
  if (!select.prepared()) return Error("preparing the article read");
  select.BindInt(1, static_cast<int64_t>(journal_seq));
  const int rc = select.Step();
  if (rc == SQLITE_ROW) return select.ColumnText(0);
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(
        absl::StrCat("journal ", path_, " has no pending record ", journal_seq));
  }
  return Error("reading an article");
}

int64_t SqliteJournal::SizeBytes() {
  Statement pages(db_, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size");
  if (!pages.prepared() || pages.Step() != SQLITE_ROW) return 0;
  return sqlite3_column_int64(pages.get(), 0);
}

absl::StatusOr<int64_t> SqliteJournal::RecordCount() {
  Statement count(db_, "SELECT COUNT(*) FROM records");
  if (!count.prepared() || count.Step() != SQLITE_ROW) return Error("counting records");
  return sqlite3_column_int64(count.get(), 0);
}

absl::StatusOr<std::vector<uint64_t>> InMemoryJournal::Append(const std::vector<NewRecord>& records,
                                                              absl::Time accepted_at) {
  if (!append_failure_.ok()) return append_failure_;
  std::vector<uint64_t> seqs;
  for (const NewRecord& record : records) {
    seqs.push_back(next_seq_);
    records_[next_seq_++] = Record{record.article_id, record.serialized_article, accepted_at};
  }
  const uint64_t newest = next_seq_ - 1;
  for (auto it = records_.begin(); it != records_.end();) {
    const bool outside = static_cast<int64_t>(newest - it->first) >= dedup_window_;
    it = outside && it->second.committed ? records_.erase(it) : std::next(it);
  }
  return seqs;
}

absl::StatusOr<bool> InMemoryJournal::ContainsId(absl::string_view article_id) {
  for (const auto& [seq, record] : records_) {
    if (record.article_id == article_id) return true;
  }
  return false;
}

absl::StatusOr<std::vector<uint64_t>> InMemoryJournal::MarkCommitted(
    const std::vector<CommitMark>& marks) {
  std::vector<uint64_t> matched;
  for (const auto& [seq, id] : marks) {
    auto it = records_.find(seq);
    if (it == records_.end() || it->second.committed || it->second.article_id != id) continue;
    it->second.committed = true;
    it->second.article.clear();
    matched.push_back(seq);
  }
  return matched;
}

absl::StatusOr<std::vector<PendingRecord>> InMemoryJournal::LoadPending() {
  std::vector<PendingRecord> pending;
  for (const auto& [seq, record] : records_) {
    if (!record.committed) pending.push_back({seq, record.article_id, record.accepted_at});
  }
  return pending;
}

absl::StatusOr<std::string> InMemoryJournal::ReadArticle(uint64_t journal_seq) {
  auto it = records_.find(journal_seq);
  if (it == records_.end() || it->second.committed) {
    return absl::NotFoundError(absl::StrCat("no pending record ", journal_seq));
  }
  return it->second.article;
}

int64_t InMemoryJournal::SizeBytes() {
  int64_t bytes = 0;
  for (const auto& [seq, record] : records_)
    bytes += record.article_id.size() + record.article.size();
  return bytes;
}

}  // namespace topicwire::ingest
