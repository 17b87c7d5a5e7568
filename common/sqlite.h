// A small layer over SQLite's C API, shared by ingest's journal, sink's store and the tools that
// read the store: a connection opened with its PRAGMAs, prepared statements cached by their SQL
// and borrowed for one scope, transactions that roll back unless committed, and one kind of
// error that names the database, the SQL that failed and SQLite's reason.
#ifndef TOPICWIRE_COMMON_SQLITE_H_
#define TOPICWIRE_COMMON_SQLITE_H_

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

struct sqlite3;
struct sqlite3_stmt;

namespace topicwire::sqlite {

class Statement;

struct DatabaseOptions {
  // How error messages name the database, e.g. "journal data/ingest/journal.db"; empty: the path.
  std::string name = {};
  // Create the file (and its parent directories) when missing. False: opening a missing file
  // fails.
  bool create = true;
  // How long a statement waits for another connection's lock before it fails with SQLITE_BUSY.
  int busy_timeout_ms = 5000;
  // Run in order right after opening, e.g. "PRAGMA journal_mode = WAL" (some PRAGMAs, such as
  // auto_vacuum, only take effect before the first table exists).
  std::vector<std::string> pragmas = {};
};

// One SQLite connection. Not thread-safe: one thread owns it (opened SQLITE_OPEN_NOMUTEX).
class Database {
 public:
  // Opens the database at `path` (":memory:" for a private in-memory one) and runs
  // options.pragmas. kDataLoss when the file is damaged or not a database, kUnavailable for
  // any other failure.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                        const DatabaseOptions& options);
  // REQUIRES: no Statement of this database is alive.
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs `sql`: one or more statements without parameters (PRAGMAs, a schema).
  absl::Status Exec(const std::string& sql);

  // The statement for `sql`, prepared on first use and reused afterwards (preparing costs more
  // than running a small statement). While one scope holds it, a second Prepare of the same SQL
  // gets a statement of its own.
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // A statement for `sql` that is not cached (for SQL built per call); finalized on scope exit.
  absl::StatusOr<Statement> PrepareUncached(absl::string_view sql);

  // Runs `sql`, which yields one integer in its first row ("SELECT COUNT(*) ...", "PRAGMA
  // page_size").
  absl::StatusOr<int64_t> QueryInt(absl::string_view sql);

  // The status for a failure of `sql` on this database: "<name>: '<sql>' failed: <SQLite's
  // message>". kDataLoss when SQLite found the file damaged (SQLITE_CORRUPT, SQLITE_NOTADB),
  // kUnavailable otherwise.
  absl::Status Error(absl::string_view sql) const;

  // SQLite's primary result code of the last failed call (SQLITE_FULL, SQLITE_BUSY, ...).
  int error_code() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t changes() const;
  const std::string& name() const { return name_; }

 private:
  Database(sqlite3* db, std::string name) : db_(db), name_(std::move(name)) {}
  friend class Statement;

  sqlite3* db_;
  std::string name_;
  // Idle cached statements by SQL; null while a Statement borrows it. std::map: a borrowed
  // Statement keeps a pointer to its slot, which must stay put while other entries are added.
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

// A prepared statement, borrowed from its Database's cache (or owned, when uncached). On scope
// exit it is reset (which ends a read it started, releasing the read lock) and its bindings are
// cleared. Text and blob bindings are not copied: REQUIRES: they outlive the next Step().
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Parameters are numbered from 1, as in the SQL (?, ?1, ...).
  void BindInt(int index, int64_t value);
  void BindText(int index, absl::string_view value);
  void BindBlob(int index, absl::string_view value);

  // Advances to the next row: true when there is one, false when the statement is done.
  absl::StatusOr<bool> Step();
  // Runs a statement that yields no rows (INSERT, UPDATE, DELETE) to completion.
  absl::Status Run();
  // Steps through every remaining row and returns `read_row(*this)` of each, in order.
  template <typename ReadRow>
  auto ReadRows(ReadRow read_row) -> absl::StatusOr<std::vector<decltype(read_row(*this))>> {
    std::vector<decltype(read_row(*this))> rows;
    while (true) {
      absl::StatusOr<bool> row = Step();
      if (!row.ok()) return row.status();
      if (!*row) return rows;
      rows.push_back(read_row(*this));
    }
  }

  // Columns of the current row, numbered from 0.
  bool ColumnIsNull(int column);
  int64_t ColumnInt(int column);
  // Text or blob bytes, valid until the next Step() or Reset(); empty for NULL.
  absl::string_view ColumnView(int column);
  std::string ColumnText(int column) { return std::string(ColumnView(column)); }

  // Makes the statement runnable again from its first row, with no bindings.
  void Reset();

 private:
  friend class Database;
  Statement(Database& database, sqlite3_stmt* stmt, sqlite3_stmt** cache_slot)
      : database_(&database), stmt_(stmt), cache_slot_(cache_slot) {}

  Database* database_;
  sqlite3_stmt* stmt_;
  sqlite3_stmt** cache_slot_;  // where to return stmt_; null: finalize it
};

// One write transaction (BEGIN IMMEDIATE: the write lock is taken at the start, so a busy
// database fails here rather than half-way). Rolled back on scope exit unless committed.
class Transaction {
 public:
  explicit Transaction(Database& database) : database_(database) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  absl::Status Begin();
  // REQUIRES: Begin() succeeded.
  absl::Status Commit();

 private:
  Database& database_;
  bool open_ = false;
};

}  // namespace topicwire::sqlite

#endif  // TOPICWIRE_COMMON_SQLITE_H_
