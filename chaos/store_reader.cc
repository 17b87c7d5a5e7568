#include "chaos/store_reader.h"

#include <sqlite3.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace topicwire::chaos {
namespace {

absl::Status SqliteError(sqlite3* db, const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", sqlite3_errmsg(db)));
}

std::string ColumnText(sqlite3_stmt* statement, int column) {
  const unsigned char* text = sqlite3_column_text(statement, column);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text),
                                       sqlite3_column_bytes(statement, column));
}

}  // namespace

absl::StatusOr<std::unique_ptr<StoreReader>> StoreReader::Open(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat("no store at ", path, " yet"));
  }
  sqlite3* db = nullptr;
  // Read-write without CREATE, then query_only: a strictly read-only connection cannot create
  // the WAL index file when sink (which owns it) is down.
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    absl::Status status = SqliteError(db, "cannot open " + path);
    sqlite3_close(db);
    return status;
  }
  sqlite3_busy_timeout(db, 2000);
  if (sqlite3_exec(db, "PRAGMA query_only=1", nullptr, nullptr, nullptr) != SQLITE_OK) {
    absl::Status status = SqliteError(db, "PRAGMA query_only");
    sqlite3_close(db);
    return status;
  }
  return std::unique_ptr<StoreReader>(new StoreReader(db));
}

StoreReader::~StoreReader() { sqlite3_close(db_); }

absl::Status StoreReader::Query(const std::string& sql, uint64_t after,
                                std::vector<std::pair<std::string, uint64_t>>& out) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "cannot read the store (has sink's schema changed?)");
  }
  sqlite3_bind_int64(statement, 1, static_cast<sqlite3_int64>(after));
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    out.emplace_back(ColumnText(statement, 0),
                     static_cast<uint64_t>(sqlite3_column_int64(statement, 1)));
  }
  sqlite3_finalize(statement);
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading the store");
  return absl::OkStatus();
}

absl::Status StoreReader::ReadNewArticles(std::vector<std::pair<std::string, uint64_t>>& out) {
  const size_t before = out.size();
  absl::Status status =
      Query("SELECT article_id, sequence FROM articles WHERE sequence > ?1 ORDER BY sequence",
            last_sequence_, out);
  for (size_t i = before; i < out.size(); ++i) {
    last_sequence_ = std::max(last_sequence_, out[i].second);
  }
  return status;
}

absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> StoreReader::ReadAllArticles() {
  std::vector<std::pair<std::string, uint64_t>> all;
  absl::Status status = Query(
      "SELECT article_id, sequence FROM articles WHERE sequence > ?1 ORDER BY sequence", 0, all);
  if (!status.ok()) return status;
  return all;
}

absl::StatusOr<std::vector<StreamCopy>> StoreReader::ReadAllCopies() {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT a.article_id, s.sequence, s.stream, s.stream_sequence "
                         "FROM streams s JOIN articles a ON a.sequence = s.sequence "
                         "ORDER BY s.sequence, s.position",
                         -1, &statement, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "cannot read the store's streams (has sink's schema changed?)");
  }
  std::vector<StreamCopy> copies;
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    StreamCopy copy;
    copy.article_id = ColumnText(statement, 0);
    copy.sequence = static_cast<uint64_t>(sqlite3_column_int64(statement, 1));
    copy.stream = ColumnText(statement, 2);
    copy.stream_sequence = static_cast<uint64_t>(sqlite3_column_int64(statement, 3));
    copies.push_back(std::move(copy));
  }
  sqlite3_finalize(statement);
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading the store's streams");
  return copies;
}

}  // namespace topicwire::chaos
