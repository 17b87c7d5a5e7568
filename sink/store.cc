#include "sink/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cassert>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"

namespace topicwire::sink {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS articles (
  sequence INTEGER PRIMARY KEY,
  article_id TEXT NOT NULL UNIQUE,
  stored_at_us INTEGER NOT NULL,
  tagged BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_by_stored_at ON articles(stored_at_us);
CREATE TABLE IF NOT EXISTS streams (
  stream TEXT NOT NULL,
  stream_sequence INTEGER NOT NULL,
  sequence INTEGER NOT NULL REFERENCES articles(sequence),
  position INTEGER NOT NULL,
  PRIMARY KEY (stream, stream_sequence)
);
CREATE INDEX IF NOT EXISTS streams_by_sequence ON streams(sequence, position);
)sql";

// One prepared statement, finalized on destruction.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  absl::Status Prepare(sqlite3* db, const std::string& sql) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
        SQLITE_OK) {
      return absl::InternalError(
          absl::StrCat("store: cannot prepare '", sql, "': ", sqlite3_errmsg(db)));
    }
    return absl::OkStatus();
  }
  sqlite3_stmt* get() { return stmt_; }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("store: ", what, ": ", sqlite3_errmsg(db)));
}

}  // namespace

std::vector<std::string> StreamsOf(const v1::TaggedArticle& article) {
  std::vector<std::string> streams;
  absl::flat_hash_set<std::string> seen;
  for (const v1::Tag& tag : article.tags()) {
    // A repeated topic would otherwise be published twice on one stream.
    if (!tag.topic().empty() && seen.insert(tag.topic()).second) streams.push_back(tag.topic());
  }
  if (streams.empty()) streams.push_back(kUntaggedStream);
  return streams;
}

class SqliteStore::Impl {
 public:
  ~Impl() { sqlite3_close_v2(db_); }

  absl::Status Open(const SqliteStoreOptions& options) {
    fill_copies_ = options.fill_copies;
    if (options.path != ":memory:") {
      const std::filesystem::path parent = std::filesystem::path(options.path).parent_path();
      std::error_code error;
      if (!parent.empty()) std::filesystem::create_directories(parent, error);
      if (error) {
        return absl::UnavailableError(absl::StrCat("store: cannot create directory ",
                                                   parent.string(), ": ", error.message()));
      }
    }
    if (sqlite3_open_v2(options.path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      return absl::UnavailableError(absl::StrCat("store: cannot open ", options.path, ": ",
                                                 db_ ? sqlite3_errmsg(db_) : "out of memory"));
    }
    sqlite3_busy_timeout(db_, 5000);
    RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(Exec(options.fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    RETURN_IF_ERROR(Exec(kSchema));
    RETURN_IF_ERROR(find_article_.Prepare(db_, "SELECT sequence FROM articles WHERE article_id=?"));
    RETURN_IF_ERROR(insert_article_.Prepare(
        db_, "INSERT INTO articles(sequence, article_id, stored_at_us, tagged) VALUES(?,?,?,?)"));
    RETURN_IF_ERROR(insert_stream_.Prepare(
        db_, "INSERT INTO streams(stream, stream_sequence, sequence, position) VALUES(?,?,?,?)"));
    RETURN_IF_ERROR(stream_head_.Prepare(
        db_, "SELECT COALESCE(MAX(stream_sequence), 0) FROM streams WHERE stream=?"));
    RETURN_IF_ERROR(
        first_since_.Prepare(db_, "SELECT MIN(sequence) FROM articles WHERE stored_at_us >= ?"));
    RETURN_IF_ERROR(QueryInt("SELECT COALESCE(MAX(sequence), 0) FROM articles", head_sequence_));
    return QueryInt("SELECT COALESCE(MAX(stored_at_us), 0) FROM articles", last_stored_at_us_);
  }

  absl::StatusOr<std::vector<StoreOutcome>> StoreBatch(
      const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) {
    RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    const int64_t head_before = head_sequence_;
    const int64_t stored_at_before = last_stored_at_us_;
    absl::StatusOr<std::vector<StoreOutcome>> outcomes = StoreInTransaction(articles, now);
    if (outcomes.ok()) {
      if (absl::Status status = Exec("COMMIT"); !status.ok()) outcomes = status;
    }
    if (!outcomes.ok()) {
      Exec("ROLLBACK").IgnoreError();  // the caller learns the first error, not this one
      head_sequence_ = head_before;
      last_stored_at_us_ = stored_at_before;
      stream_heads_.clear();  // may hold sequences that were rolled back
    }
    return outcomes;
  }

  absl::StatusOr<HistoryPage> ReadHistory(const HistoryQuery& query) {
    HistoryPage page;
    page.head_sequence = static_cast<uint64_t>(head_sequence_);
    uint64_t after = query.after_sequence;
    if (query.since.has_value()) {
      Statement& first = first_since_;
      first.Reset();
      sqlite3_bind_int64(first.get(), 1, absl::ToUnixMicros(*query.since));
      if (sqlite3_step(first.get()) != SQLITE_ROW) return SqliteError(db_, "reading history");
      const bool none = sqlite3_column_type(first.get(), 0) == SQLITE_NULL;
      const int64_t first_sequence = sqlite3_column_int64(first.get(), 0);
      first.Reset();
      after = none ? page.head_sequence : static_cast<uint64_t>(first_sequence - 1);
    }
    if (after >= page.head_sequence) {
      page.last_sequence = after;
      page.complete = true;
      return page;
    }

    std::string sql =
        "SELECT s.sequence, s.stream, s.stream_sequence, a.tagged FROM streams s "
        "JOIN articles a ON a.sequence = s.sequence WHERE s.sequence > ?";
    if (!query.streams.empty()) {
      std::vector<std::string> placeholders(query.streams.size(), "?");
      absl::StrAppend(&sql, " AND s.stream IN (", absl::StrJoin(placeholders, ","), ")");
    }
    absl::StrAppend(&sql, " ORDER BY s.sequence, s.position");
    Statement select;
    RETURN_IF_ERROR(select.Prepare(db_, sql));
    sqlite3_bind_int64(select.get(), 1, static_cast<int64_t>(after));
    for (size_t i = 0; i < query.streams.size(); ++i) {
      sqlite3_bind_text(select.get(), static_cast<int>(i + 2), query.streams[i].data(),
                        static_cast<int>(query.streams[i].size()), SQLITE_TRANSIENT);
    }

    uint32_t articles = 0;
    size_t bytes = 0;
    uint64_t current = 0;
    v1::TaggedArticle article;
    while (true) {
      const int rc = sqlite3_step(select.get());
      if (rc == SQLITE_DONE) {
        page.last_sequence = page.head_sequence;
        page.complete = true;
        return page;
      }
      if (rc != SQLITE_ROW) return SqliteError(db_, "reading history");
      const uint64_t sequence = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0));
      if (sequence != current) {
        if (articles >= query.max_articles || (articles > 0 && bytes >= query.max_bytes)) break;
        const void* blob = sqlite3_column_blob(select.get(), 3);
        const int size = sqlite3_column_bytes(select.get(), 3);
        if (!article.ParseFromArray(blob, size)) {
          return absl::DataLossError(
              absl::StrCat("store: article with sequence ", sequence, " does not parse"));
        }
        current = sequence;
        ++articles;
      }
      v1::TaggedArticle& copy = page.copies.emplace_back(article);
      copy.set_stream(reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 1)),
                      sqlite3_column_bytes(select.get(), 1));
      copy.set_stream_sequence(static_cast<uint64_t>(sqlite3_column_int64(select.get(), 2)));
      bytes += copy.ByteSizeLong();
    }
    page.last_sequence = current;
    page.complete = current >= page.head_sequence;
    return page;
  }

  absl::StatusOr<int64_t> SizeBytes() {
    int64_t page_count = 0;
    int64_t page_size = 0;
    RETURN_IF_ERROR(QueryInt("PRAGMA page_count", page_count));
    RETURN_IF_ERROR(QueryInt("PRAGMA page_size", page_size));
    return page_count * page_size;
  }

  uint64_t head_sequence() const { return static_cast<uint64_t>(head_sequence_); }

 private:
  absl::StatusOr<std::vector<StoreOutcome>> StoreInTransaction(
      const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) {
    std::vector<StoreOutcome> outcomes;
    outcomes.reserve(articles.size());
    // stored_at never goes backwards (clock steps), so "since a time" is a sequence range.
    const int64_t stored_at_us = std::max(absl::ToUnixMicros(now), last_stored_at_us_);
    for (const v1::TaggedArticle* article : articles) {
      const v1::TaggedArticle& incoming = *article;
      assert(!incoming.article().id().empty());
      StoreOutcome& outcome = outcomes.emplace_back();
      ASSIGN_OR_RETURN(std::optional<int64_t> existing, FindArticle(incoming.article().id()));
      if (existing.has_value()) {
        outcome.sequence = static_cast<uint64_t>(*existing);
        continue;
      }
      const int64_t sequence = head_sequence_ + 1;
      v1::TaggedArticle stored_fields;
      stored_fields.set_sequence(static_cast<uint64_t>(sequence));
      *stored_fields.mutable_stored_at() = TimeUtil::MicrosecondsToTimestamp(stored_at_us);
      // What workers send has none of sink's fields: serialize it and append ours (concatenated
      // messages merge) instead of copying the article. Otherwise copy and overwrite.
      const bool has_sink_fields = incoming.has_stored_at() || incoming.sequence() != 0 ||
                                   !incoming.stream().empty() || incoming.stream_sequence() != 0;
      std::optional<v1::TaggedArticle> stored;
      if (has_sink_fields || fill_copies_) {
        stored.emplace(incoming);
        stored->clear_stream();
        stored->clear_stream_sequence();
        stored->set_sequence(stored_fields.sequence());
        *stored->mutable_stored_at() = stored_fields.stored_at();
      }
      std::string blob;
      if (has_sink_fields) {
        stored->SerializeToString(&blob);
      } else {
        // One buffer of the exact size: the article with its evidence is several KB.
        const size_t incoming_size = incoming.ByteSizeLong();
        blob.resize(incoming_size + stored_fields.ByteSizeLong());
        auto* out = reinterpret_cast<uint8_t*>(blob.data());
        stored_fields.SerializeWithCachedSizesToArray(
            incoming.SerializeWithCachedSizesToArray(out));
      }
      const std::string& id = incoming.article().id();

      insert_article_.Reset();
      sqlite3_bind_int64(insert_article_.get(), 1, sequence);
      sqlite3_bind_text(insert_article_.get(), 2, id.data(), static_cast<int>(id.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(insert_article_.get(), 3, stored_at_us);
      sqlite3_bind_blob(insert_article_.get(), 4, blob.data(), static_cast<int>(blob.size()),
                        SQLITE_STATIC);
      const int rc = sqlite3_step(insert_article_.get());
      insert_article_.Reset();
      if (rc != SQLITE_DONE) return SqliteError(db_, "storing an article");

      const std::vector<std::string> streams = StreamsOf(incoming);
      for (size_t position = 0; position < streams.size(); ++position) {
        const std::string& stream = streams[position];
        ASSIGN_OR_RETURN(int64_t stream_head, StreamHead(stream));
        const int64_t stream_sequence = stream_head + 1;
        insert_stream_.Reset();
        sqlite3_bind_text(insert_stream_.get(), 1, stream.data(), static_cast<int>(stream.size()),
                          SQLITE_STATIC);
        sqlite3_bind_int64(insert_stream_.get(), 2, stream_sequence);
        sqlite3_bind_int64(insert_stream_.get(), 3, sequence);
        sqlite3_bind_int64(insert_stream_.get(), 4, static_cast<int64_t>(position));
        const int stream_rc = sqlite3_step(insert_stream_.get());
        insert_stream_.Reset();
        if (stream_rc != SQLITE_DONE) return SqliteError(db_, "storing a stream entry");
        stream_heads_[stream] = stream_sequence;
        outcome.streams.emplace_back(stream, static_cast<uint64_t>(stream_sequence));
        if (fill_copies_) {
          v1::TaggedArticle& copy = outcome.copies.emplace_back(*stored);
          copy.set_stream(stream);
          copy.set_stream_sequence(static_cast<uint64_t>(stream_sequence));
        }
      }
      outcome.serialized = std::move(blob);
      outcome.stored_at = absl::FromUnixMicros(stored_at_us);
      head_sequence_ = sequence;
      last_stored_at_us_ = stored_at_us;
      outcome.newly_stored = true;
      outcome.sequence = static_cast<uint64_t>(sequence);
    }
    return outcomes;
  }

  absl::StatusOr<std::optional<int64_t>> FindArticle(const std::string& id) {
    find_article_.Reset();
    sqlite3_bind_text(find_article_.get(), 1, id.data(), static_cast<int>(id.size()),
                      SQLITE_STATIC);
    const int rc = sqlite3_step(find_article_.get());
    std::optional<int64_t> sequence;
    if (rc == SQLITE_ROW) sequence = sqlite3_column_int64(find_article_.get(), 0);
    find_article_.Reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db_, "looking up an article");
    return sequence;
  }

  absl::StatusOr<int64_t> StreamHead(const std::string& stream) {
    if (auto it = stream_heads_.find(stream); it != stream_heads_.end()) return it->second;
    stream_head_.Reset();
    sqlite3_bind_text(stream_head_.get(), 1, stream.data(), static_cast<int>(stream.size()),
                      SQLITE_STATIC);
    const int rc = sqlite3_step(stream_head_.get());
    const int64_t head = rc == SQLITE_ROW ? sqlite3_column_int64(stream_head_.get(), 0) : 0;
    stream_head_.Reset();
    if (rc != SQLITE_ROW) return SqliteError(db_, "reading a stream head");
    stream_heads_[stream] = head;
    return head;
  }

  absl::Status Exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      absl::Status status = absl::UnavailableError(
          absl::StrCat("store: '", sql, "' failed: ", error ? error : "unknown error"));
      sqlite3_free(error);
      return status;
    }
    return absl::OkStatus();
  }

  absl::Status QueryInt(const std::string& sql, int64_t& value) {
    Statement statement;
    RETURN_IF_ERROR(statement.Prepare(db_, sql));
    if (sqlite3_step(statement.get()) != SQLITE_ROW) return SqliteError(db_, sql);
    value = sqlite3_column_int64(statement.get(), 0);
    return absl::OkStatus();
  }

  bool fill_copies_ = true;
  sqlite3* db_ = nullptr;
  Statement find_article_;
  Statement insert_article_;
  Statement insert_stream_;
  Statement stream_head_;
  Statement first_since_;
  int64_t head_sequence_ = 0;
  int64_t last_stored_at_us_ = 0;
  // Cache of MAX(stream_sequence) per stream; cleared when a transaction rolls back.
  absl::flat_hash_map<std::string, int64_t> stream_heads_;
};

v1::TaggedArticle CopyStreamFields(const StoreOutcome& outcome, size_t index) {
  v1::TaggedArticle stream_fields;
  stream_fields.set_stream(outcome.streams[index].first);
  stream_fields.set_stream_sequence(outcome.streams[index].second);
  return stream_fields;
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteStoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  RETURN_IF_ERROR(impl->Open(options));
  const uint64_t head = impl->head_sequence();
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl), head));
}

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl, uint64_t head_sequence)
    : impl_(std::move(impl)), head_sequence_(head_sequence) {}

SqliteStore::~SqliteStore() = default;

absl::StatusOr<std::vector<StoreOutcome>> Store::StoreArticles(
    const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) {
  std::vector<v1::TaggedArticle> copies;
  copies.reserve(articles.size());
  for (const v1::TaggedArticle* article : articles) copies.push_back(*article);
  return StoreBatch(copies, now);
}

absl::StatusOr<std::vector<StoreOutcome>> SqliteStore::StoreBatch(
    const std::vector<v1::TaggedArticle>& articles, absl::Time now) {
  std::vector<const v1::TaggedArticle*> pointers;
  pointers.reserve(articles.size());
  for (const v1::TaggedArticle& article : articles) pointers.push_back(&article);
  return StoreArticles(pointers, now);
}

absl::StatusOr<std::vector<StoreOutcome>> SqliteStore::StoreArticles(
    const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) {
  absl::StatusOr<std::vector<StoreOutcome>> outcomes = impl_->StoreBatch(articles, now);
  head_sequence_ = impl_->head_sequence();
  return outcomes;
}

absl::StatusOr<HistoryPage> SqliteStore::ReadHistory(const HistoryQuery& query) {
  return impl_->ReadHistory(query);
}

absl::StatusOr<int64_t> SqliteStore::SizeBytes() { return impl_->SizeBytes(); }

}  // namespace topicwire::sink
