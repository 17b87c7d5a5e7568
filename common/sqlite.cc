#include "common/sqlite.h"

#include <sqlite3.h>

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace topicwire::sqlite {

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                         const DatabaseOptions& options) {
  std::string name = options.name.empty() ? path : options.name;
  if (options.create && path != ":memory:") {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code error;
    if (!parent.empty()) std::filesystem::create_directories(parent, error);
    if (error) {
      return absl::UnavailableError(absl::StrCat(name, ": cannot create the directory ",
                                                 parent.string(), ": ", error.message()));
    }
  }
  sqlite3* db = nullptr;
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (options.create ? SQLITE_OPEN_CREATE : 0);
  if (const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr); rc != SQLITE_OK) {
    const std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat(name, ": cannot open ", path, ": ", message));
  }
  std::unique_ptr<Database> database(new Database(db, std::move(name)));
  // Another process (a reader, an operator's sqlite3 shell) may hold the lock for a moment.
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  for (const std::string& pragma : options.pragmas) RETURN_IF_ERROR(database->Exec(pragma));
  return database;
}

Database::~Database() {
  for (const auto& [sql, statement] : cache_) sqlite3_finalize(statement);
  sqlite3_close(db_);
}

absl::Status Database::Exec(const std::string& sql) {
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return Error(sql);
  return absl::OkStatus();
}

absl::StatusOr<Statement> Database::Prepare(absl::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && it->second != nullptr) {
    return Statement(*this, std::exchange(it->second, nullptr), &it->second);
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return Error(sql);
  }
  // Borrowed further up the stack: this one is the caller's own and is finalized.
  if (it != cache_.end()) return Statement(*this, stmt, nullptr);
  return Statement(*this, stmt, &cache_.emplace(std::string(sql), nullptr).first->second);
}

absl::StatusOr<Statement> Database::PrepareUncached(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return Error(sql);
  }
  return Statement(*this, stmt, nullptr);
}

absl::StatusOr<int64_t> Database::QueryInt(absl::string_view sql) {
  ASSIGN_OR_RETURN(Statement statement, Prepare(sql));
  ASSIGN_OR_RETURN(bool row, statement.Step());
  if (!row) return absl::UnavailableError(absl::StrCat(name_, ": '", sql, "' returned no row"));
  return statement.ColumnInt(0);
}

absl::Status Database::Error(absl::string_view sql) const {
  // One line in the log however the SQL was laid out in the source.
  const std::string message = absl::StrCat(
      name_, ": '",
      absl::StrJoin(absl::StrSplit(sql, absl::ByAnyChar(" \n\t"), absl::SkipEmpty()), " "),
      "' failed: ", sqlite3_errmsg(db_));
  const int code = error_code();
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return absl::DataLossError(message);
  return absl::UnavailableError(message);
}

int Database::error_code() const { return sqlite3_errcode(db_) & 0xff; }

int64_t Database::changes() const { return sqlite3_changes(db_); }

Statement::Statement(Statement&& other) noexcept
    : database_(other.database_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      cache_slot_(std::exchange(other.cache_slot_, nullptr)) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (cache_slot_ != nullptr) {
    Reset();
    *cache_slot_ = stmt_;  // returned to the cache
  } else {
    sqlite3_finalize(stmt_);
  }
}

void Statement::BindInt(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }

void Statement::BindText(int index, absl::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

void Statement::BindBlob(int index, absl::string_view value) {
  sqlite3_bind_blob(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

absl::StatusOr<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return database_->Error(sqlite3_sql(stmt_));
}

absl::Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

bool Statement::ColumnIsNull(int column) {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::ColumnInt(int column) { return sqlite3_column_int64(stmt_, column); }

absl::string_view Statement::ColumnView(int column) {
  // The blob accessor returns text columns' bytes unconverted too.
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  if (data == nullptr) return {};
  return absl::string_view(data, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Transaction::~Transaction() {
  if (open_) database_.Exec("ROLLBACK").IgnoreError();  // the caller has the first error already
}

absl::Status Transaction::Begin() {
  RETURN_IF_ERROR(database_.Exec("BEGIN IMMEDIATE"));
  open_ = true;
  return absl::OkStatus();
}

absl::Status Transaction::Commit() {
  RETURN_IF_ERROR(database_.Exec("COMMIT"));
  open_ = false;
  return absl::OkStatus();
}

}  // namespace topicwire::sqlite
