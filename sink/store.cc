#include "sink/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cassert>
#include <filesystem>
#include <iterator>
#include <tuple>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/sqlite.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"

namespace topicwire::sink {
namespace {

using google::protobuf::util::TimeUtil;
using sqlite::Statement;

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
CREATE INDEX IF NOT EXISTS streams_by_stream ON streams(stream, sequence, position, stream_sequence);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS retired_stream_heads (
  stream TEXT PRIMARY KEY,
  stream_sequence INTEGER NOT NULL
);
)sql";

// meta keys.
constexpr char kRetiredThrough[] = "retired_through";  // the newest sequence retention removed
// The newest sequence whose copies were published; missing in stores of older versions, whose
// every article was published before they were closed or lost (nothing to publish again).
constexpr char kPublishedThrough[] = "published_through";
// The store's epoch (TaggedArticle.store_epoch), created with the store (or on first opening by
// a version that has epochs).
constexpr char kEpoch[] = "epoch";

// Retention removes at most this many articles per Trim(), so one call stays short.
constexpr uint64_t kMaxTrimmedPerCall = 1000;

// One copy a history page holds, before its article is read.
struct PageCopy {
  uint64_t sequence = 0;
  int64_t position = 0;
  StreamPosition stream;
};

// `incoming` as the store keeps it: with `sequence` and `stored_at` set and no stream fields.
std::string SerializeStored(const v1::TaggedArticle& incoming, uint64_t sequence,
                            int64_t stored_at_us, uint64_t epoch) {
  v1::TaggedArticle stored_fields;
  stored_fields.set_sequence(sequence);
  stored_fields.set_store_epoch(epoch);
  *stored_fields.mutable_stored_at() = TimeUtil::MicrosecondsToTimestamp(stored_at_us);
  std::string blob;
  // What workers send has none of sink's fields: serialize it and append ours (concatenated
  // messages merge) instead of copying the article. Otherwise copy and overwrite.
  if (incoming.has_stored_at() || incoming.sequence() != 0 || !incoming.stream().empty() ||
      incoming.stream_sequence() != 0 || incoming.store_epoch() != 0) {
    v1::TaggedArticle stored(incoming);
    stored.set_store_epoch(epoch);
    stored.clear_stream();
    stored.clear_stream_sequence();
    stored.set_sequence(sequence);
    *stored.mutable_stored_at() = stored_fields.stored_at();
    stored.SerializeToString(&blob);
    return blob;
  }
  // One buffer of the exact size: the article with its evidence is several KB.
  const size_t incoming_size = incoming.ByteSizeLong();
  blob.resize(incoming_size + stored_fields.ByteSizeLong());
  auto* out = reinterpret_cast<uint8_t*>(blob.data());
  stored_fields.SerializeWithCachedSizesToArray(incoming.SerializeWithCachedSizesToArray(out));
  return blob;
}

}  // namespace

const char kHistoryCopiesInRangeSql[] =
    "SELECT sequence, position, stream, stream_sequence FROM streams "
    "WHERE sequence > ? AND sequence <= ? ORDER BY sequence, position";
const char kHistoryCopiesOfStreamSql[] =
    "SELECT sequence, position, stream_sequence FROM streams "
    "WHERE stream = ? AND sequence > ? ORDER BY sequence LIMIT ?";
const char kHistoryArticleSql[] = "SELECT tagged FROM articles WHERE sequence = ?";

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteStoreOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Database> db,
                   sqlite::Database::Open(
                       options.path, {.name = absl::StrCat("store ", options.path),
                                      .pragmas = {"PRAGMA journal_mode=WAL",
                                                  options.fsync ? "PRAGMA synchronous=FULL"
                                                                : "PRAGMA synchronous=NORMAL"}}));
  RETURN_IF_ERROR(db->Exec(kSchema));
  if (options.max_bytes > 0) {
    ASSIGN_OR_RETURN(const int64_t page_size, db->QueryInt("PRAGMA page_size"));
    const int64_t pages = std::max<int64_t>(1, options.max_bytes / page_size);
    RETURN_IF_ERROR(db->Exec(absl::StrCat("PRAGMA max_page_count = ", pages)));
  }
  ASSIGN_OR_RETURN(const int64_t retired,
                   db->QueryInt(absl::StrCat("SELECT COALESCE(MAX(value), 0) FROM meta WHERE key='",
                                             kRetiredThrough, "'")));
  // Retention may have removed every article: the sequence continues after what it removed.
  ASSIGN_OR_RETURN(const int64_t head,
                   db->QueryInt("SELECT COALESCE(MAX(sequence), 0) FROM articles"));
  ASSIGN_OR_RETURN(const int64_t last_stored_at_us,
                   db->QueryInt("SELECT COALESCE(MAX(stored_at_us), 0) FROM articles"));
  const uint64_t head_sequence = static_cast<uint64_t>(std::max(head, retired));
  ASSIGN_OR_RETURN(
      const int64_t published,
      db->QueryInt(absl::StrCat("SELECT COALESCE(MAX(value), -1) FROM meta WHERE key='",
                                kPublishedThrough, "'")));
  ASSIGN_OR_RETURN(int64_t epoch,
                   db->QueryInt(absl::StrCat("SELECT COALESCE(MAX(value), 0) FROM meta WHERE key='",
                                             kEpoch, "'")));
  if (epoch == 0) {
    // 63 bits: meta values are signed.
    epoch = static_cast<int64_t>(absl::Uniform<uint64_t>(absl::BitGen(), 1, uint64_t{1} << 63));
    RETURN_IF_ERROR(
        db->Exec(absl::StrCat("INSERT INTO meta(key, value) VALUES('", kEpoch, "', ", epoch, ")")));
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(
      std::move(db), options, head_sequence, static_cast<uint64_t>(retired) + 1, last_stored_at_us,
      published < 0 ? head_sequence : std::min(head_sequence, static_cast<uint64_t>(published)),
      static_cast<uint64_t>(epoch)));
}

SqliteStore::SqliteStore(std::unique_ptr<sqlite::Database> db, const SqliteStoreOptions& options,
                         uint64_t head_sequence, uint64_t first_sequence, int64_t last_stored_at_us,
                         uint64_t published_through, uint64_t epoch)
    : db_(std::move(db)),
      options_(options),
      head_sequence_(head_sequence),
      first_sequence_(first_sequence),
      last_stored_at_us_(last_stored_at_us),
      published_through_(published_through),
      epoch_(epoch),
      stream_sequences_([this](const std::string& stream) { return StreamHead(stream); }) {}

SqliteStore::~SqliteStore() = default;

absl::StatusOr<std::vector<StoreOutcome>> SqliteStore::StoreBatch(
    const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) {
  const uint64_t head_before = head_sequence_;
  const int64_t stored_at_before = last_stored_at_us_;
  absl::StatusOr<std::vector<StoreOutcome>> outcomes = StoreInTransaction(articles, now);
  if (!outcomes.ok()) {  // rolled back: forget what the batch took
    head_sequence_ = head_before;
    last_stored_at_us_ = stored_at_before;
    stream_sequences_.Forget();
  }
  return outcomes;
}

absl::StatusOr<std::vector<StoreOutcome>> SqliteStore::StoreInTransaction(
    const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) {
  sqlite::Transaction transaction(*db_);
  // The error code is read before the transaction rolls back, which would replace it.
  if (absl::Status begun = transaction.Begin(); !begun.ok()) return FullOr(begun);
  absl::StatusOr<std::vector<StoreOutcome>> outcomes = StoreRows(articles, now);
  if (!outcomes.ok()) return FullOr(outcomes.status());
  if (absl::Status committed = transaction.Commit(); !committed.ok()) return FullOr(committed);
  return outcomes;
}

absl::Status SqliteStore::FullOr(absl::Status status) const {
  if (status.ok() || db_->error_code() != SQLITE_FULL) return status;
  return absl::ResourceExhaustedError(absl::StrCat(
      "sink's store is full (", status.message(),
      "): free space on its disk (or raise --max_store_bytes); deliveries wait until then"));
}

absl::StatusOr<std::vector<StoreOutcome>> SqliteStore::StoreRows(
    const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) {
  std::vector<StoreOutcome> outcomes;
  outcomes.reserve(articles.size());
  // stored_at never goes backwards (clock steps), so "since a time" is a sequence range.
  const int64_t stored_at_us = std::max(absl::ToUnixMicros(now), last_stored_at_us_);
  for (const v1::TaggedArticle* article : articles) {
    const v1::TaggedArticle& incoming = *article;
    assert(!incoming.article().id().empty());
    StoreOutcome& outcome = outcomes.emplace_back();
    ASSIGN_OR_RETURN(std::optional<uint64_t> existing, FindArticle(incoming.article().id()));
    if (existing.has_value()) {
      outcome.sequence = *existing;
      continue;
    }
    RETURN_IF_ERROR(Insert(incoming, stored_at_us, outcome));
  }
  // Durable with the batch: what this batch stored is unpublished until MarkPublished().
  RETURN_IF_ERROR(SetMeta(kPublishedThrough, static_cast<int64_t>(published_through_)));
  return outcomes;
}

absl::Status SqliteStore::Insert(const v1::TaggedArticle& article, int64_t stored_at_us,
                                 StoreOutcome& outcome) {
  const uint64_t sequence = head_sequence_ + 1;
  std::string serialized = SerializeStored(article, sequence, stored_at_us, epoch_);
  {
    ASSIGN_OR_RETURN(Statement insert, db_->Prepare("INSERT INTO articles(sequence, article_id, "
                                                    "stored_at_us, tagged) VALUES(?,?,?,?)"));
    insert.BindInt(1, static_cast<int64_t>(sequence));
    insert.BindText(2, article.article().id());
    insert.BindInt(3, stored_at_us);
    insert.BindBlob(4, serialized);
    RETURN_IF_ERROR(insert.Run());
  }
  ASSIGN_OR_RETURN(std::vector<StreamPosition> positions, stream_sequences_.Place(article));
  ASSIGN_OR_RETURN(Statement insert_stream,
                   db_->Prepare("INSERT INTO streams(stream, stream_sequence, sequence, position) "
                                "VALUES(?,?,?,?)"));
  for (size_t position = 0; position < positions.size(); ++position) {
    insert_stream.BindText(1, positions[position].stream);
    insert_stream.BindInt(2, static_cast<int64_t>(positions[position].stream_sequence));
    insert_stream.BindInt(3, static_cast<int64_t>(sequence));
    insert_stream.BindInt(4, static_cast<int64_t>(position));
    RETURN_IF_ERROR(insert_stream.Run());
    insert_stream.Reset();
  }
  outcome.newly_stored = true;
  outcome.sequence = sequence;
  outcome.serialized = std::move(serialized);
  outcome.stored_at = absl::FromUnixMicros(stored_at_us);
  outcome.streams = std::move(positions);
  head_sequence_ = sequence;
  last_stored_at_us_ = stored_at_us;
  return absl::OkStatus();
}

absl::Status SqliteStore::SetMeta(const char* key, int64_t value) {
  ASSIGN_OR_RETURN(Statement set, db_->Prepare("INSERT INTO meta(key, value) VALUES(?, ?) "
                                               "ON CONFLICT(key) DO UPDATE SET value = "
                                               "excluded.value"));
  set.BindText(1, key);
  set.BindInt(2, value);
  return set.Run();
}

absl::Status SqliteStore::MarkPublished(uint64_t sequence) {
  published_through_ = std::max(published_through_, std::min(sequence, head_sequence_));
  // Unsynced: the next batch's synced commit carries it; losing it costs a second publication.
  if (options_.fsync) RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=NORMAL"));
  absl::Status status =
      FullOr(SetMeta(kPublishedThrough, static_cast<int64_t>(published_through_)));
  if (options_.fsync) status.Update(db_->Exec("PRAGMA synchronous=FULL"));
  return status;
}

absl::StatusOr<std::optional<uint64_t>> SqliteStore::FindArticle(const std::string& id) {
  ASSIGN_OR_RETURN(Statement find,
                   db_->Prepare("SELECT sequence FROM articles WHERE article_id=?"));
  find.BindText(1, id);
  ASSIGN_OR_RETURN(bool found, find.Step());
  if (!found) return std::nullopt;
  return static_cast<uint64_t>(find.ColumnInt(0));
}

absl::StatusOr<uint64_t> SqliteStore::StreamHead(const std::string& stream) {
  // Retention may have removed a stream's every copy: its numbering continues all the same.
  ASSIGN_OR_RETURN(Statement head,
                   db_->Prepare("SELECT MAX((SELECT COALESCE(MAX(stream_sequence), 0) FROM streams "
                                "WHERE stream=?1), (SELECT COALESCE(MAX(stream_sequence), 0) "
                                "FROM retired_stream_heads WHERE stream=?1))"));
  head.BindText(1, stream);
  ASSIGN_OR_RETURN(bool row, head.Step());
  return row ? static_cast<uint64_t>(head.ColumnInt(0)) : 0;
}

absl::StatusOr<HistoryPage> SqliteStore::ReadHistory(const HistoryQuery& query) {
  HistoryPage page;
  page.head_sequence = head_sequence_;
  page.first_sequence = first_sequence_;
  // What retention removed cannot be paged through: the page starts at the oldest article held.
  uint64_t after = std::max(query.after_sequence, first_sequence_ - 1);
  if (query.since.has_value()) {
    ASSIGN_OR_RETURN(Statement first,
                     db_->Prepare("SELECT MIN(sequence) FROM articles WHERE stored_at_us >= ?"));
    first.BindInt(1, absl::ToUnixMicros(*query.since));
    ASSIGN_OR_RETURN(bool row, first.Step());
    // MIN() over no rows is NULL: nothing was stored since then.
    const bool none = !row || first.ColumnIsNull(0);
    after = none ? page.head_sequence : static_cast<uint64_t>(first.ColumnInt(0) - 1);
  }
  if (after >= page.head_sequence) {
    page.last_sequence = after;
    page.complete = true;
    return page;
  }

  // Every query below reads at most one page of rows through an index, so a page costs the
  // same however large the store is.
  std::vector<PageCopy> copies;
  // The page covers sequences up to this one (all of them, when nothing limits it sooner).
  uint64_t covered = page.head_sequence;
  if (query.streams.empty()) {
    // Sequences have no holes above the oldest one held, so a page of articles is a range.
    covered = std::min<uint64_t>(page.head_sequence, after + query.max_articles);
    ASSIGN_OR_RETURN(Statement select, db_->Prepare(kHistoryCopiesInRangeSql));
    select.BindInt(1, static_cast<int64_t>(after));
    select.BindInt(2, static_cast<int64_t>(covered));
    ASSIGN_OR_RETURN(copies, select.ReadRows([](Statement& row) {
      return PageCopy{.sequence = static_cast<uint64_t>(row.ColumnInt(0)),
                      .position = row.ColumnInt(1),
                      .stream = {.stream = row.ColumnText(2),
                                 .stream_sequence = static_cast<uint64_t>(row.ColumnInt(3))}};
    }));
  } else {
    // An article has at most one copy per stream, so the first max_articles copies of each
    // stream hold the first max_articles articles of all of them together.
    for (const std::string& stream : query.streams) {
      ASSIGN_OR_RETURN(Statement select, db_->Prepare(kHistoryCopiesOfStreamSql));
      select.BindText(1, stream);
      select.BindInt(2, static_cast<int64_t>(after));
      select.BindInt(3, static_cast<int64_t>(query.max_articles));
      ASSIGN_OR_RETURN(std::vector<PageCopy> of_stream, select.ReadRows([&](Statement& row) {
        return PageCopy{.sequence = static_cast<uint64_t>(row.ColumnInt(0)),
                        .position = row.ColumnInt(1),
                        .stream = {.stream = stream,
                                   .stream_sequence = static_cast<uint64_t>(row.ColumnInt(2))}};
      }));
      // A stream that filled its limit may hold more beyond its last copy: the page covers
      // no further than that.
      if (of_stream.size() >= query.max_articles) {
        covered = std::min(covered, of_stream.back().sequence);
      }
      copies.insert(copies.end(), std::make_move_iterator(of_stream.begin()),
                    std::make_move_iterator(of_stream.end()));
    }
    std::sort(copies.begin(), copies.end(), [](const PageCopy& a, const PageCopy& b) {
      return std::tie(a.sequence, a.position) < std::tie(b.sequence, b.position);
    });
    // A repeated stream in the query would list its copies twice.
    copies.erase(std::unique(copies.begin(), copies.end(),
                             [](const PageCopy& a, const PageCopy& b) {
                               return a.sequence == b.sequence && a.position == b.position;
                             }),
                 copies.end());
    std::erase_if(copies, [&](const PageCopy& copy) { return copy.sequence > covered; });
  }

  uint32_t articles = 0;
  size_t bytes = 0;
  uint64_t current = 0;
  v1::TaggedArticle article;
  for (PageCopy& copy : copies) {
    if (copy.sequence != current) {
      if (articles >= query.max_articles || (articles > 0 && bytes >= query.max_bytes)) {
        page.last_sequence = current;
        page.complete = current >= page.head_sequence;
        return page;
      }
      ASSIGN_OR_RETURN(Statement read, db_->Prepare(kHistoryArticleSql));
      read.BindInt(1, static_cast<int64_t>(copy.sequence));
      ASSIGN_OR_RETURN(bool found, read.Step());
      if (!found) {
        return absl::DataLossError(
            absl::StrCat("store: no article with sequence ", copy.sequence, " for its copies"));
      }
      const absl::string_view blob = read.ColumnView(0);
      if (!article.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
        return absl::DataLossError(
            absl::StrCat("store: article with sequence ", copy.sequence, " does not parse"));
      }
      article.set_store_epoch(epoch_);  // articles stored before epochs existed lack it
      current = copy.sequence;
      ++articles;
    }
    v1::TaggedArticle& published = page.copies.emplace_back(article);
    published.set_stream(std::move(copy.stream.stream));
    published.set_stream_sequence(copy.stream.stream_sequence);
    bytes += published.ByteSizeLong();
  }
  page.last_sequence = covered;
  page.complete = covered >= page.head_sequence;
  return page;
}

absl::StatusOr<uint64_t> SqliteStore::Trim(absl::Time now) {
  if (first_sequence_ > head_sequence_) return 0;
  uint64_t through = first_sequence_ - 1;  // remove sequences up to and including this one
  if (options_.retention_age > absl::ZeroDuration()) {
    ASSIGN_OR_RETURN(Statement old, db_->Prepare("SELECT COALESCE(MAX(sequence), 0) FROM articles "
                                                 "WHERE stored_at_us < ?"));
    old.BindInt(1, absl::ToUnixMicros(now - options_.retention_age));
    ASSIGN_OR_RETURN(bool row, old.Step());
    if (row) through = std::max(through, static_cast<uint64_t>(old.ColumnInt(0)));
  }
  if (options_.retention_bytes > 0) {
    ASSIGN_OR_RETURN(const int64_t used, UsedBytes());
    if (used > options_.retention_bytes) {
      // Articles are about the same size, so the excess is that share of the articles held
      // (and one more, so that rounding never leaves the store just above its bound).
      const uint64_t held = head_sequence_ - first_sequence_ + 1;
      const uint64_t excess =
          static_cast<uint64_t>(static_cast<double>(held) *
                                static_cast<double>(used - options_.retention_bytes) /
                                static_cast<double>(used)) +
          1;
      // The newest article stays: a store bound smaller than one article keeps that one.
      through = std::max(through, first_sequence_ - 1 + std::min(excess, held - 1));
    }
  }
  through = std::min({through, first_sequence_ - 1 + kMaxTrimmedPerCall, head_sequence_});
  if (through < first_sequence_) return 0;

  sqlite::Transaction transaction(*db_);
  RETURN_IF_ERROR(transaction.Begin());
  {
    ASSIGN_OR_RETURN(Statement keep_heads,
                     db_->Prepare("INSERT INTO retired_stream_heads(stream, stream_sequence) "
                                  "SELECT stream, MAX(stream_sequence) FROM streams "
                                  "WHERE sequence <= ? GROUP BY stream "
                                  "ON CONFLICT(stream) DO UPDATE SET stream_sequence = "
                                  "MAX(stream_sequence, excluded.stream_sequence)"));
    keep_heads.BindInt(1, static_cast<int64_t>(through));
    RETURN_IF_ERROR(keep_heads.Run());
  }
  for (const char* sql :
       {"DELETE FROM streams WHERE sequence <= ?", "DELETE FROM articles WHERE sequence <= ?"}) {
    ASSIGN_OR_RETURN(Statement remove, db_->Prepare(sql));
    remove.BindInt(1, static_cast<int64_t>(through));
    RETURN_IF_ERROR(remove.Run());
  }
  {
    ASSIGN_OR_RETURN(Statement mark, db_->Prepare("INSERT INTO meta(key, value) VALUES(?, ?) "
                                                  "ON CONFLICT(key) DO UPDATE SET value = "
                                                  "excluded.value"));
    mark.BindText(1, kRetiredThrough);
    mark.BindInt(2, static_cast<int64_t>(through));
    RETURN_IF_ERROR(mark.Run());
  }
  RETURN_IF_ERROR(transaction.Commit());
  const uint64_t removed = through - first_sequence_ + 1;
  first_sequence_ = through + 1;
  return removed;
}

absl::StatusOr<int64_t> SqliteStore::UsedBytes() {
  ASSIGN_OR_RETURN(const int64_t page_count, db_->QueryInt("PRAGMA page_count"));
  ASSIGN_OR_RETURN(const int64_t free_pages, db_->QueryInt("PRAGMA freelist_count"));
  ASSIGN_OR_RETURN(const int64_t page_size, db_->QueryInt("PRAGMA page_size"));
  return (page_count - free_pages) * page_size;
}

absl::StatusOr<int64_t> SqliteStore::SizeBytes() {
  ASSIGN_OR_RETURN(const int64_t page_count, db_->QueryInt("PRAGMA page_count"));
  ASSIGN_OR_RETURN(const int64_t page_size, db_->QueryInt("PRAGMA page_size"));
  return page_count * page_size;
}

absl::StatusOr<std::unique_ptr<StoreReader>> StoreReader::Open(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat("no store at ", path, " yet"));
  }
  // Read-write without create, then query_only: a strictly read-only connection cannot create
  // the WAL index file when sink (which owns it) is down.
  ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Database> db,
                   sqlite::Database::Open(path, {.name = absl::StrCat("store ", path),
                                                 .create = false,
                                                 .busy_timeout_ms = 2000,
                                                 .pragmas = {"PRAGMA query_only=1"}}));
  return std::unique_ptr<StoreReader>(new StoreReader(std::move(db)));
}

StoreReader::StoreReader(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}

StoreReader::~StoreReader() = default;

absl::StatusOr<std::vector<StoredArticle>> StoreReader::ReadArticles(uint64_t after_sequence) {
  ASSIGN_OR_RETURN(Statement select, db_->Prepare("SELECT article_id, sequence FROM articles "
                                                  "WHERE sequence > ? ORDER BY sequence"));
  select.BindInt(1, static_cast<int64_t>(after_sequence));
  return select.ReadRows([](Statement& row) {
    return StoredArticle{.article_id = row.ColumnText(0),
                         .sequence = static_cast<uint64_t>(row.ColumnInt(1))};
  });
}

absl::StatusOr<std::vector<StoredCopy>> StoreReader::ReadCopies() {
  ASSIGN_OR_RETURN(Statement select,
                   db_->Prepare("SELECT a.article_id, s.sequence, s.stream, s.stream_sequence "
                                "FROM streams s JOIN articles a ON a.sequence = s.sequence "
                                "ORDER BY s.sequence, s.position"));
  return select.ReadRows([](Statement& row) {
    return StoredCopy{.article_id = row.ColumnText(0),
                      .sequence = static_cast<uint64_t>(row.ColumnInt(1)),
                      .position = {.stream = row.ColumnText(2),
                                   .stream_sequence = static_cast<uint64_t>(row.ColumnInt(3))}};
  });
}

}  // namespace topicwire::sink
