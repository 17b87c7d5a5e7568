#include "ingest/journal.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/sqlite.h"
#include "common/status_macros.h"
#include "proto/article.pb.h"
#include "spdlog/spdlog.h"

namespace topicwire::ingest {
namespace {

using sqlite::Statement;
using sqlite::Transaction;

int64_t ToMicros(absl::Time time) { return absl::ToUnixMicros(time); }

// NULL (no attempt yet) reads as absl::InfinitePast().
absl::Time ColumnTime(Statement& statement, int column) {
  if (statement.ColumnIsNull(column)) return absl::InfinitePast();
  return absl::FromUnixMicros(statement.ColumnInt(column));
}

// The title of a serialized v1::Article; empty when it does not parse.
std::string TitleOf(absl::string_view serialized_article) {
  v1::Article article;
  if (!article.ParseFromArray(serialized_article.data(),
                              static_cast<int>(serialized_article.size()))) {
    return "";
  }
  return article.title();
}

// A pending record read back from a damaged journal.
struct SalvagedRecord {
  uint64_t journal_seq;
  std::string article_id;
  std::string article;
  int64_t accepted_at_us;
  int64_t attempts;
};

// Reads the pending records that still read back intact (the scan stops at the first damaged
// page) and whose checksum, where present, matches.
std::vector<SalvagedRecord> Salvage(sqlite::Database& db) {
  std::vector<SalvagedRecord> salvaged;
  absl::StatusOr<Statement> select = db.Prepare(
      "SELECT journal_seq, article_id, article, accepted_at_us, checksum, attempts "
      "FROM records WHERE committed = 0 ORDER BY journal_seq");
  if (!select.ok()) return salvaged;
  for (absl::StatusOr<bool> row = select->Step(); row.ok() && *row; row = select->Step()) {
    SalvagedRecord record{.journal_seq = static_cast<uint64_t>(select->ColumnInt(0)),
                          .article_id = select->ColumnText(1),
                          .article = select->ColumnText(2),
                          .accepted_at_us = select->ColumnInt(3),
                          .attempts = select->ColumnInt(5)};
    if (!select->ColumnIsNull(4) &&
        select->ColumnInt(4) != static_cast<int64_t>(SqliteJournal::RecordChecksum(
                                    record.journal_seq, record.article_id, record.article))) {
      continue;
    }
    salvaged.push_back(std::move(record));
  }
  return salvaged;
}

// Escapes `text` (ASCII) for a JSON string.
std::string JsonEscape(absl::string_view text) {
  std::string escaped;
  for (const char c : text) {
    if (c == '"' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return escaped;
}

// Appends `text` to the file at `path` and fsyncs it.
absl::Status AppendDurably(const std::string& path, absl::string_view text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open the quarantine file ", path, ": ", strerror(errno)));
  }
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = fsync(fd) == 0 && ok;
  close(fd);
  if (!ok) {
    return absl::UnavailableError(
        absl::StrCat("cannot write the quarantine file ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

SqliteJournal::SqliteJournal(std::string path, std::unique_ptr<sqlite::Database> db,
                             const SqliteJournalOptions& options)
    : path_(std::move(path)), db_(std::move(db)), options_(options) {}

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
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal = OpenFile(path, options);
  if (journal.ok() && (*journal)->Healthy()) {
    RETURN_IF_ERROR((*journal)->QuarantineCorruptRecords());
    return journal;
  }
  if (!journal.ok() && !absl::IsDataLoss(journal.status())) return journal;

  // The file itself is damaged: keep it for a post-mortem, carry over what still reads, and
  // continue on a fresh journal rather than refusing to start.
  std::vector<SalvagedRecord> salvaged;
  if (journal.ok()) salvaged = Salvage(*(*journal)->db_);
  journal = absl::StatusOr<std::unique_ptr<SqliteJournal>>();  // closes the damaged file
  const std::string aside = absl::StrCat(path, ".damaged-", absl::ToUnixSeconds(absl::Now()));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code error;
    const std::string from = absl::StrCat(path, suffix);
    if (!std::filesystem::exists(from, error)) continue;
    std::filesystem::rename(from, absl::StrCat(aside, suffix), error);
    if (error) {
      return absl::UnavailableError(absl::StrCat(
          "the journal ", path, " is damaged and cannot be moved aside: ", error.message()));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteJournal> fresh, OpenFile(path, options));
  {
    Transaction transaction(*fresh->db_);
    RETURN_IF_ERROR(fresh->WriteStatus(transaction.Begin()));
    ASSIGN_OR_RETURN(Statement insert,
                     fresh->db_->Prepare("INSERT INTO records (journal_seq, article_id, article, "
                                         "accepted_at_us, checksum, attempts) "
                                         "VALUES (?, ?, ?, ?, ?, ?)"));
    for (const SalvagedRecord& record : salvaged) {
      insert.BindInt(1, static_cast<int64_t>(record.journal_seq));
      insert.BindText(2, record.article_id);
      insert.BindBlob(3, record.article);
      insert.BindInt(4, record.accepted_at_us);
      insert.BindInt(5, RecordChecksum(record.journal_seq, record.article_id, record.article));
      insert.BindInt(6, record.attempts);
      RETURN_IF_ERROR(fresh->WriteStatus(insert.Run()));
      insert.Reset();
    }
    RETURN_IF_ERROR(fresh->WriteStatus(transaction.Commit()));
  }
  fresh->recovery_.database_replaced = true;
  fresh->recovery_.salvaged_records = static_cast<int64_t>(salvaged.size());
  fresh->recovery_.quarantine_path = aside;
  spdlog::critical(
      "the journal {} was damaged: moved it to {} and started a fresh journal with the {} "
      "pending articles that could still be read (committed ids and dead letters of the old "
      "file are not carried over)",
      path, aside, salvaged.size());
  return fresh;
}

absl::StatusOr<std::unique_ptr<SqliteJournal>> SqliteJournal::OpenFile(
    const std::string& path, const SqliteJournalOptions& options) {
  absl::StatusOr<std::unique_ptr<sqlite::Database>> db = sqlite::Database::Open(
      path,
      {.name = absl::StrCat("journal ", path),
       .pragmas = {// auto_vacuum only takes effect when set before the first table exists.
                   "PRAGMA auto_vacuum = INCREMENTAL", "PRAGMA journal_mode = WAL",
                   options.fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"}});
  if (!db.ok()) {
    // A damaged file (kDataLoss) is replaced by Open(); anything else is the operator's to fix.
    if (absl::IsDataLoss(db.status())) return db.status();
    return absl::UnavailableError(
        absl::StrCat(db.status().message(), " (check --journal and the directory's permissions)"));
  }
  std::unique_ptr<SqliteJournal> journal(new SqliteJournal(path, *std::move(db), options));
  RETURN_IF_ERROR(journal->CreateSchema());
  return journal;
}

absl::Status SqliteJournal::CreateSchema() {
  // AUTOINCREMENT: a journal_seq is never reused, even after the newest record is deleted, so a
  // late CommitAck can never confirm the wrong record. committed: 0 pending, 1 confirmed by
  // sink, 2 moved to dead_letters.
  RETURN_IF_ERROR(
      db_->Exec("CREATE TABLE IF NOT EXISTS records ("
                "  journal_seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                "  article_id TEXT NOT NULL,"
                "  article BLOB,"  // NULL once sink confirmed the record
                "  accepted_at_us INTEGER NOT NULL,"
                "  committed INTEGER NOT NULL DEFAULT 0)"));
  // Columns added after the first release; journals written before them get them here.
  for (const auto& [name, type] : std::vector<std::pair<const char*, const char*>>{
           {"checksum", "INTEGER"},  // NULL in records written before checksums existed
           {"attempts", "INTEGER NOT NULL DEFAULT 0"},
           {"first_attempt_us", "INTEGER"},
           {"last_attempt_us", "INTEGER"},
           {"last_reason", "TEXT"}}) {
    bool present = false;
    {
      ASSIGN_OR_RETURN(
          Statement has,
          db_->Prepare("SELECT COUNT(*) FROM pragma_table_info('records') WHERE name = ?"));
      has.BindText(1, name);
      ASSIGN_OR_RETURN(bool row, has.Step());
      present = row && has.ColumnInt(0) > 0;
    }
    if (present) continue;
    RETURN_IF_ERROR(db_->Exec(absl::StrCat("ALTER TABLE records ADD COLUMN ", name, " ", type)));
  }
  RETURN_IF_ERROR(db_->Exec("CREATE INDEX IF NOT EXISTS records_by_id ON records (article_id)"));
  RETURN_IF_ERROR(db_->Exec(
      "CREATE INDEX IF NOT EXISTS pending_records ON records (journal_seq) WHERE committed = 0"));
  RETURN_IF_ERROR(
      db_->Exec("CREATE TABLE IF NOT EXISTS dead_letters ("
                "  journal_seq INTEGER PRIMARY KEY,"
                "  article_id TEXT NOT NULL,"
                "  article BLOB NOT NULL,"
                "  checksum INTEGER,"
                "  accepted_at_us INTEGER NOT NULL,"
                "  attempts INTEGER NOT NULL,"
                "  first_attempt_us INTEGER,"
                "  last_attempt_us INTEGER,"
                "  last_reason TEXT,"
                "  dead_at_us INTEGER NOT NULL)"));
  RETURN_IF_ERROR(AddTitlesToDeadLetters());
  RETURN_IF_ERROR(
      db_->Exec("CREATE INDEX IF NOT EXISTS dead_letters_by_id ON dead_letters (article_id)"));
  if (options_.max_bytes > 0) {
    ASSIGN_OR_RETURN(const int64_t page_size, db_->QueryInt("PRAGMA page_size"));
    const int64_t pages = std::max<int64_t>(1, options_.max_bytes / page_size);
    RETURN_IF_ERROR(db_->Exec(absl::StrCat("PRAGMA max_page_count = ", pages)));
  }
  return absl::OkStatus();
}

absl::Status SqliteJournal::AddTitlesToDeadLetters() {
  {
    ASSIGN_OR_RETURN(
        Statement has,
        db_->Prepare(
            "SELECT COUNT(*) FROM pragma_table_info('dead_letters') WHERE name = 'title'"));
    ASSIGN_OR_RETURN(bool row, has.Step());
    if (row && has.ColumnInt(0) > 0) return absl::OkStatus();
  }
  // Journals written before titles were kept: read each article once here so that listing dead
  // letters never has to.
  RETURN_IF_ERROR(db_->Exec("ALTER TABLE dead_letters ADD COLUMN title TEXT"));
  Transaction transaction(*db_);
  RETURN_IF_ERROR(WriteStatus(transaction.Begin()));
  std::vector<std::pair<int64_t, std::string>> titles;
  {
    ASSIGN_OR_RETURN(Statement select,
                     db_->Prepare("SELECT journal_seq, article FROM dead_letters"));
    ASSIGN_OR_RETURN(titles, select.ReadRows([](Statement& row) {
      return std::make_pair(row.ColumnInt(0), TitleOf(row.ColumnView(1)));
    }));
  }
  ASSIGN_OR_RETURN(Statement update,
                   db_->Prepare("UPDATE dead_letters SET title = ? WHERE journal_seq = ?"));
  for (const auto& [seq, title] : titles) {
    update.BindText(1, title);
    update.BindInt(2, seq);
    RETURN_IF_ERROR(WriteStatus(update.Run()));
    update.Reset();
  }
  return WriteStatus(transaction.Commit());
}

bool SqliteJournal::Healthy() {
  absl::StatusOr<Statement> check = db_->Prepare("PRAGMA quick_check");
  if (!check.ok()) return false;
  absl::StatusOr<bool> row = check->Step();
  if (!row.ok() || !*row) return false;
  const std::string verdict = check->ColumnText(0);
  if (verdict == "ok") return true;
  spdlog::error("journal {}: PRAGMA quick_check says: {}", path_, verdict);
  return false;
}

absl::Status SqliteJournal::QuarantineCorruptRecords() {
  struct Bad {
    uint64_t journal_seq;
    std::string article_id;
    std::string article;
    int64_t stored;
    uint32_t computed;
  };
  std::vector<Bad> bad;
  {
    ASSIGN_OR_RETURN(Statement select,
                     db_->Prepare("SELECT journal_seq, article_id, article, checksum FROM records "
                                  "WHERE committed = 0 AND checksum IS NOT NULL "
                                  "ORDER BY journal_seq"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      const auto seq = static_cast<uint64_t>(select.ColumnInt(0));
      std::string id = select.ColumnText(1);
      std::string article = select.ColumnText(2);
      const int64_t stored = select.ColumnInt(3);
      const uint32_t computed = RecordChecksum(seq, id, article);
      if (stored == static_cast<int64_t>(computed)) continue;
      bad.push_back({seq, std::move(id), std::move(article), stored, computed});
    }
  }
  if (bad.empty()) return absl::OkStatus();

  const std::string quarantine = path_ + ".quarantine.jsonl";
  std::string lines;
  for (const Bad& record : bad) {
    absl::StrAppend(&lines, "{\"journal_seq\":", record.journal_seq, ",\"article_id_escaped\":\"",
                    JsonEscape(absl::CHexEscape(record.article_id)),
                    "\",\"reason\":\"checksum mismatch\",\"stored_checksum\":", record.stored,
                    ",\"computed_checksum\":", record.computed, ",\"quarantined_at\":\"",
                    absl::FormatTime(absl::Now()), "\",\"article_base64\":\"",
                    absl::Base64Escape(record.article), "\"}\n");
  }
  // The quarantine file is on disk before the records leave the journal.
  RETURN_IF_ERROR(AppendDurably(quarantine, lines));
  Transaction transaction(*db_);
  RETURN_IF_ERROR(WriteStatus(transaction.Begin()));
  ASSIGN_OR_RETURN(Statement remove, db_->Prepare("DELETE FROM records WHERE journal_seq = ?"));
  for (const Bad& record : bad) {
    remove.BindInt(1, static_cast<int64_t>(record.journal_seq));
    RETURN_IF_ERROR(WriteStatus(remove.Run()));
    remove.Reset();
    spdlog::error("journal {}: record {} (article '{}') fails its checksum; moved to {}", path_,
                  record.journal_seq, absl::CHexEscape(record.article_id), quarantine);
  }
  RETURN_IF_ERROR(WriteStatus(transaction.Commit()));
  recovery_.quarantined_records = static_cast<int64_t>(bad.size());
  recovery_.quarantine_path = quarantine;
  return absl::OkStatus();
}

uint32_t SqliteJournal::RecordChecksum(uint64_t journal_seq, absl::string_view article_id,
                                       absl::string_view serialized_article) {
  unsigned char seq_bytes[8];
  for (int i = 0; i < 8; ++i) seq_bytes[i] = static_cast<unsigned char>(journal_seq >> (8 * i));
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, seq_bytes, sizeof(seq_bytes));
  crc = crc32(crc, reinterpret_cast<const Bytef*>(article_id.data()),
              static_cast<uInt>(article_id.size()));
  // A separator, so that moving bytes between the id and the article changes the checksum.
  const unsigned char separator = 0;
  crc = crc32(crc, &separator, 1);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(serialized_article.data()),
              static_cast<uInt>(serialized_article.size()));
  return static_cast<uint32_t>(crc);
}

SqliteJournal::~SqliteJournal() = default;

absl::Status SqliteJournal::WriteStatus(absl::Status status) const {
  if (status.ok() || db_->error_code() != SQLITE_FULL) return status;
  return absl::ResourceExhaustedError(
      absl::StrCat("ingest's journal disk is full (", status.message(), ")"));
}

absl::Status SqliteJournal::ExecUnsynced(const std::function<absl::Status()>& body) {
  if (options_.fsync) RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous = NORMAL"));
  absl::Status status;
  {
    Transaction transaction(*db_);
    status = WriteStatus(transaction.Begin());
    if (status.ok()) status = body();
    if (status.ok()) status = WriteStatus(transaction.Commit());
  }
  if (options_.fsync) status.Update(db_->Exec("PRAGMA synchronous = FULL"));
  return status;
}

absl::Status SqliteJournal::TrimWindow() {
  ASSIGN_OR_RETURN(Statement trim, db_->Prepare("DELETE FROM records WHERE committed = 1 AND "
                                                "journal_seq <= (SELECT MAX(journal_seq) FROM "
                                                "records) - ?"));
  trim.BindInt(1, options_.dedup_window);
  return WriteStatus(trim.Run());
}

absl::StatusOr<std::vector<uint64_t>> SqliteJournal::Append(const std::vector<NewRecord>& records,
                                                            absl::Time accepted_at) {
  std::vector<uint64_t> seqs;
  if (records.empty()) return seqs;
  Transaction transaction(*db_);
  RETURN_IF_ERROR(WriteStatus(transaction.Begin()));
  // The sequence numbers are chosen here (inside the write lock) because the checksum covers
  // them; AUTOINCREMENT's own counter is consulted so that a number is never reused.
  ASSIGN_OR_RETURN(
      const int64_t last,
      db_->QueryInt("SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'records'), "
                    "0), COALESCE((SELECT MAX(journal_seq) FROM records), 0))"));
  uint64_t next_seq = static_cast<uint64_t>(last) + 1;
  ASSIGN_OR_RETURN(Statement insert,
                   db_->Prepare("INSERT INTO records (journal_seq, article_id, article, "
                                "accepted_at_us, checksum) VALUES (?, ?, ?, ?, ?)"));
  seqs.reserve(records.size());
  for (const NewRecord& record : records) {
    const uint64_t seq = next_seq++;
    insert.BindInt(1, static_cast<int64_t>(seq));
    insert.BindText(2, record.article_id);
    insert.BindBlob(3, record.serialized_article);
    insert.BindInt(4, ToMicros(accepted_at));
    insert.BindInt(5, RecordChecksum(seq, record.article_id, record.serialized_article));
    RETURN_IF_ERROR(WriteStatus(insert.Run()));
    insert.Reset();
    seqs.push_back(seq);
  }
  RETURN_IF_ERROR(TrimWindow());
  // With synchronous=FULL in WAL mode, COMMIT returns after the WAL is fsync'd.
  RETURN_IF_ERROR(WriteStatus(transaction.Commit()));
  return seqs;
}

absl::StatusOr<bool> SqliteJournal::ContainsId(absl::string_view article_id) {
  ASSIGN_OR_RETURN(Statement select,
                   db_->Prepare("SELECT 1 FROM records WHERE article_id = ? LIMIT 1"));
  select.BindText(1, article_id);
  return select.Step();
}

absl::StatusOr<std::vector<uint64_t>> SqliteJournal::MarkCommitted(
    const std::vector<CommitMark>& marks) {
  std::vector<uint64_t> matched;
  if (marks.empty()) return matched;
  // Commit marks skip the fsync: losing one only causes a redelivery that sink deduplicates.
  // The next append's fsync makes these WAL frames durable too.
  if (options_.fsync) RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous = NORMAL"));
  absl::Status status = MarkCommittedInTransaction(marks, matched);
  // Give the pages of the dropped articles back to the file system.
  if (status.ok()) status = db_->Exec("PRAGMA incremental_vacuum");
  if (options_.fsync) status.Update(db_->Exec("PRAGMA synchronous = FULL"));
  if (!status.ok()) return status;
  return matched;
}

absl::Status SqliteJournal::MarkCommittedInTransaction(const std::vector<CommitMark>& marks,
                                                       std::vector<uint64_t>& matched) {
  Transaction transaction(*db_);
  RETURN_IF_ERROR(transaction.Begin());
  ASSIGN_OR_RETURN(Statement update,
                   db_->Prepare("UPDATE records SET committed = 1, article = NULL "
                                "WHERE journal_seq = ? AND article_id = ? AND committed = 0"));
  for (const auto& [seq, id] : marks) {
    update.BindInt(1, static_cast<int64_t>(seq));
    update.BindText(2, id);
    RETURN_IF_ERROR(update.Run());
    if (db_->changes() > 0) matched.push_back(seq);
    update.Reset();
  }
  RETURN_IF_ERROR(TrimWindow());
  return transaction.Commit();
}

absl::StatusOr<std::vector<PendingRecord>> SqliteJournal::LoadPending() {
  ASSIGN_OR_RETURN(
      Statement select,
      db_->Prepare("SELECT journal_seq, article_id, accepted_at_us, attempts, first_attempt_us "
                   "FROM records WHERE committed = 0 ORDER BY journal_seq"));
  return select.ReadRows([](Statement& row) {
    return PendingRecord{.journal_seq = static_cast<uint64_t>(row.ColumnInt(0)),
                         .article_id = row.ColumnText(1),
                         .accepted_at = absl::FromUnixMicros(row.ColumnInt(2)),
                         .attempts = static_cast<uint32_t>(row.ColumnInt(3)),
                         .first_attempt = ColumnTime(row, 4)};
  });
}

absl::StatusOr<std::string> SqliteJournal::ReadArticle(uint64_t journal_seq) {
  ASSIGN_OR_RETURN(Statement select, db_->Prepare("SELECT article FROM records "
                                                  "WHERE journal_seq = ? AND committed = 0"));
  select.BindInt(1, static_cast<int64_t>(journal_seq));
  ASSIGN_OR_RETURN(bool row, select.Step());
  if (row) return select.ColumnText(0);
  return absl::NotFoundError(
      absl::StrCat("journal ", path_, " has no pending record ", journal_seq));
}

int64_t SqliteJournal::SizeBytes() {
  absl::StatusOr<int64_t> bytes =
      db_->QueryInt("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size");
  return bytes.ok() ? *bytes : 0;
}

absl::Status SqliteJournal::RecordFailure(uint64_t journal_seq, const DeliveryFailure& failure) {
  return ExecUnsynced([&]() -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement update,
        db_->Prepare(
            "UPDATE records SET attempts = ?, first_attempt_us = ?, "
            "last_attempt_us = ?, last_reason = ? WHERE journal_seq = ? AND committed = 0"));
    update.BindInt(1, failure.attempts);
    update.BindInt(2, ToMicros(failure.first_attempt));
    update.BindInt(3, ToMicros(failure.last_attempt));
    update.BindText(4, failure.reason);
    update.BindInt(5, static_cast<int64_t>(journal_seq));
    return WriteStatus(update.Run());
  });
}

absl::Status SqliteJournal::MoveToDeadLetters(uint64_t journal_seq,
                                              const DeliveryFailure& failure) {
  Transaction transaction(*db_);
  RETURN_IF_ERROR(WriteStatus(transaction.Begin()));
  // The title is kept beside the article so that listing dead letters reads no article bytes.
  std::string title;
  {
    ASSIGN_OR_RETURN(Statement read, db_->Prepare("SELECT article FROM records "
                                                  "WHERE journal_seq = ? AND committed = 0"));
    read.BindInt(1, static_cast<int64_t>(journal_seq));
    ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) {
      return absl::NotFoundError(
          absl::StrCat("journal ", path_, " has no pending record ", journal_seq));
    }
    title = TitleOf(read.ColumnView(0));
  }
  ASSIGN_OR_RETURN(
      Statement copy,
      db_->Prepare("INSERT OR REPLACE INTO dead_letters (journal_seq, article_id, article, "
                   "checksum, accepted_at_us, attempts, first_attempt_us, last_attempt_us, "
                   "last_reason, dead_at_us, title) SELECT journal_seq, article_id, article, "
                   "checksum, accepted_at_us, ?2, ?3, ?4, ?5, ?6, ?7 FROM records "
                   "WHERE journal_seq = ?1 AND committed = 0"));
  copy.BindInt(1, static_cast<int64_t>(journal_seq));
  copy.BindInt(2, failure.attempts);
  copy.BindInt(3, ToMicros(failure.first_attempt));
  copy.BindInt(4, ToMicros(failure.last_attempt));
  copy.BindText(5, failure.reason);
  copy.BindInt(6, ToMicros(absl::Now()));
  copy.BindText(7, title);
  RETURN_IF_ERROR(WriteStatus(copy.Run()));
  if (db_->changes() == 0) {
    return absl::NotFoundError(
        absl::StrCat("journal ", path_, " has no pending record ", journal_seq));
  }
  // The record stays (without its bytes) so that its id keeps answering DUPLICATE.
  ASSIGN_OR_RETURN(Statement mark,
                   db_->Prepare("UPDATE records SET committed = 2, article = NULL, attempts = ?2, "
                                "last_reason = ?3 WHERE journal_seq = ?1"));
  mark.BindInt(1, static_cast<int64_t>(journal_seq));
  mark.BindInt(2, failure.attempts);
  mark.BindText(3, failure.reason);
  RETURN_IF_ERROR(WriteStatus(mark.Run()));
  return WriteStatus(transaction.Commit());
}

absl::StatusOr<std::vector<DeadLetter>> SqliteJournal::ListDeadLetters(uint64_t after_seq,
                                                                       int64_t limit) {
  ASSIGN_OR_RETURN(Statement select,
                   db_->Prepare("SELECT journal_seq, article_id, title, accepted_at_us, "
                                "attempts, first_attempt_us, last_attempt_us, last_reason "
                                "FROM dead_letters WHERE journal_seq > ? "
                                "ORDER BY journal_seq LIMIT ?"));
  select.BindInt(1, static_cast<int64_t>(after_seq));
  select.BindInt(2, limit);
  return select.ReadRows([](Statement& row) {
    DeadLetter letter;
    letter.journal_seq = static_cast<uint64_t>(row.ColumnInt(0));
    letter.article_id = row.ColumnText(1);
    letter.title = row.ColumnText(2);
    letter.accepted_at = absl::FromUnixMicros(row.ColumnInt(3));
    letter.failure.attempts = static_cast<uint32_t>(row.ColumnInt(4));
    letter.failure.first_attempt = ColumnTime(row, 5);
    letter.failure.last_attempt = ColumnTime(row, 6);
    letter.failure.reason = row.ColumnText(7);
    return letter;
  });
}

absl::StatusOr<int64_t> SqliteJournal::CountDeadLetters() {
  return db_->QueryInt("SELECT COUNT(*) FROM dead_letters");
}

absl::StatusOr<std::vector<PendingRecord>> SqliteJournal::ReplayDeadLetters(
    const std::vector<std::string>& article_ids, bool all, uint64_t after_seq, int64_t limit) {
  struct Replayed {
    uint64_t journal_seq;
    std::string article_id;
    std::string article;
    int64_t accepted_at_us;
  };
  auto read_row = [](Statement& row) {
    return Replayed{.journal_seq = static_cast<uint64_t>(row.ColumnInt(0)),
                    .article_id = row.ColumnText(1),
                    .article = row.ColumnText(2),
                    .accepted_at_us = row.ColumnInt(3)};
  };
  std::vector<Replayed> letters;
  if (all) {
    ASSIGN_OR_RETURN(Statement select,
                     db_->Prepare("SELECT journal_seq, article_id, article, accepted_at_us "
                                  "FROM dead_letters WHERE journal_seq > ? "
                                  "ORDER BY journal_seq LIMIT ?"));
    select.BindInt(1, static_cast<int64_t>(after_seq));
    select.BindInt(2, limit);
    ASSIGN_OR_RETURN(letters, select.ReadRows(read_row));
  } else {
    ASSIGN_OR_RETURN(Statement select,
                     db_->Prepare("SELECT journal_seq, article_id, article, accepted_at_us "
                                  "FROM dead_letters WHERE article_id = ?"));
    for (const std::string& id : article_ids) {
      select.BindText(1, id);
      ASSIGN_OR_RETURN(std::vector<Replayed> found, select.ReadRows(read_row));
      select.Reset();
      for (Replayed& letter : found) letters.push_back(std::move(letter));
    }
    std::sort(letters.begin(), letters.end(),
              [](const Replayed& a, const Replayed& b) { return a.journal_seq < b.journal_seq; });
    letters.erase(std::unique(letters.begin(), letters.end(),
                              [](const Replayed& a, const Replayed& b) {
                                return a.journal_seq == b.journal_seq;
                              }),
                  letters.end());
  }
  std::vector<PendingRecord> replayed;
  Transaction transaction(*db_);
  RETURN_IF_ERROR(WriteStatus(transaction.Begin()));
  ASSIGN_OR_RETURN(
      Statement restore,
      db_->Prepare("INSERT OR REPLACE INTO records (journal_seq, article_id, article, "
                   "accepted_at_us, committed, checksum, attempts) VALUES (?, ?, ?, ?, 0, ?, 0)"));
  ASSIGN_OR_RETURN(Statement remove,
                   db_->Prepare("DELETE FROM dead_letters WHERE journal_seq = ?"));
  for (const Replayed& letter : letters) {
    restore.BindInt(1, static_cast<int64_t>(letter.journal_seq));
    restore.BindText(2, letter.article_id);
    restore.BindBlob(3, letter.article);
    restore.BindInt(4, letter.accepted_at_us);
    restore.BindInt(5, RecordChecksum(letter.journal_seq, letter.article_id, letter.article));
    RETURN_IF_ERROR(WriteStatus(restore.Run()));
    restore.Reset();
    remove.BindInt(1, static_cast<int64_t>(letter.journal_seq));
    RETURN_IF_ERROR(WriteStatus(remove.Run()));
    remove.Reset();
    replayed.push_back({.journal_seq = letter.journal_seq,
                        .article_id = letter.article_id,
                        .accepted_at = absl::FromUnixMicros(letter.accepted_at_us)});
  }
  RETURN_IF_ERROR(WriteStatus(transaction.Commit()));
  return replayed;
}

absl::StatusOr<int64_t> SqliteJournal::RecordCount() {
  return db_->QueryInt("SELECT COUNT(*) FROM records");
}

absl::StatusOr<std::vector<uint64_t>> InMemoryJournal::Append(const std::vector<NewRecord>& records,
                                                              absl::Time accepted_at) {
  if (!append_failure_.ok()) return append_failure_;
  std::vector<uint64_t> seqs;
  for (const NewRecord& record : records) {
    seqs.push_back(next_seq_);
    records_[next_seq_++] = Record{.article_id = record.article_id,
                                   .article = record.serialized_article,
                                   .accepted_at = accepted_at};
  }
  TrimWindow();
  return seqs;
}

// Like SqliteJournal: committed records older than the window are forgotten, both when the
// window moves (Append) and when a record becomes committed (MarkCommitted).
void InMemoryJournal::TrimWindow() {
  const uint64_t newest = next_seq_ - 1;
  for (auto it = records_.begin(); it != records_.end();) {
    const bool outside = static_cast<int64_t>(newest - it->first) >= dedup_window_;
    it = outside && it->second.committed ? records_.erase(it) : std::next(it);
  }
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
    if (it == records_.end() || it->second.committed || it->second.dead ||
        it->second.article_id != id) {
      continue;
    }
    it->second.committed = true;
    it->second.article.clear();
    matched.push_back(seq);
  }
  TrimWindow();
  return matched;
}

absl::StatusOr<std::vector<PendingRecord>> InMemoryJournal::LoadPending() {
  std::vector<PendingRecord> pending;
  for (const auto& [seq, record] : records_) {
    if (!record.committed && !record.dead) {
      pending.push_back({.journal_seq = seq,
                         .article_id = record.article_id,
                         .accepted_at = record.accepted_at,
                         .attempts = record.failure.attempts,
                         .first_attempt = record.failure.first_attempt});
    }
  }
  return pending;
}

absl::StatusOr<std::string> InMemoryJournal::ReadArticle(uint64_t journal_seq) {
  auto it = records_.find(journal_seq);
  if (it == records_.end() || it->second.committed || it->second.dead) {
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

absl::Status InMemoryJournal::RecordFailure(uint64_t journal_seq, const DeliveryFailure& failure) {
  auto it = records_.find(journal_seq);
  if (it != records_.end() && !it->second.committed && !it->second.dead) {
    it->second.failure = failure;
  }
  return absl::OkStatus();
}

absl::Status InMemoryJournal::MoveToDeadLetters(uint64_t journal_seq,
                                                const DeliveryFailure& failure) {
  auto it = records_.find(journal_seq);
  if (it == records_.end() || it->second.committed || it->second.dead) {
    return absl::NotFoundError(absl::StrCat("no pending record ", journal_seq));
  }
  it->second.dead = true;
  it->second.title = TitleOf(it->second.article);
  it->second.failure = failure;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DeadLetter>> InMemoryJournal::ListDeadLetters(uint64_t after_seq,
                                                                         int64_t limit) {
  std::vector<DeadLetter> letters;
  for (auto it = records_.upper_bound(after_seq);
       it != records_.end() && static_cast<int64_t>(letters.size()) < limit; ++it) {
    const auto& [seq, record] = *it;
    if (record.dead) {
      letters.push_back({.journal_seq = seq,
                         .article_id = record.article_id,
                         .title = record.title,
                         .accepted_at = record.accepted_at,
                         .failure = record.failure});
    }
  }
  return letters;
}

absl::StatusOr<int64_t> InMemoryJournal::CountDeadLetters() {
  return static_cast<int64_t>(std::count_if(records_.begin(), records_.end(),
                                            [](const auto& entry) { return entry.second.dead; }));
}

absl::StatusOr<std::vector<PendingRecord>> InMemoryJournal::ReplayDeadLetters(
    const std::vector<std::string>& article_ids, bool all, uint64_t after_seq, int64_t limit) {
  std::vector<PendingRecord> replayed;
  for (auto it = all ? records_.upper_bound(after_seq) : records_.begin(); it != records_.end();
       ++it) {
    auto& [seq, record] = *it;
    if (all && static_cast<int64_t>(replayed.size()) >= limit) break;
    if (!record.dead || (!all && std::find(article_ids.begin(), article_ids.end(),
                                           record.article_id) == article_ids.end())) {
      continue;
    }
    record.dead = false;
    record.failure = DeliveryFailure();
    replayed.push_back(
        {.journal_seq = seq, .article_id = record.article_id, .accepted_at = record.accepted_at});
  }
  return replayed;
}

}  // namespace topicwire::ingest
