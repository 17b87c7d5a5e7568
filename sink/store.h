// The sink's store: every tagged article once, with the store sequence and the per-stream
// sequences it was published with, so that late joiners can replay exactly what went out live.
// Persistence only: which streams an article goes on and how a copy is framed are
// sink/streams.h's.
#ifndef TOPICWIRE_SINK_STORE_H_
#define TOPICWIRE_SINK_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/article.pb.h"
#include "sink/streams.h"

namespace topicwire::sqlite {
class Database;
}  // namespace topicwire::sqlite

namespace topicwire::sink {

// What happened to one article handed to Store::StoreBatch.
struct StoreOutcome {
  // False when an article with the same id was already stored (earlier, or earlier in the same
  // batch); nothing was changed then, and the fields below stay empty.
  bool newly_stored = false;
  // The store sequence of the article (the existing one when it was already stored).
  uint64_t sequence = 0;
  // The stored article serialized once, with stored_at and sequence set and no stream, as kept
  // in the store; CopyFrames() turns it into each published copy.
  std::string serialized;
  absl::Time stored_at;
  // Where each copy is published, in publication order.
  std::vector<StreamPosition> streams;
};

// Which stored copies a history page should hold.
struct HistoryQuery {
  // Copies of articles with sequence > after_sequence.
  uint64_t after_sequence = 0;
  // When set, copies of articles stored at or after this time instead (after_sequence ignored).
  std::optional<absl::Time> since;
  // Streams to return; empty means all.
  std::vector<std::string> streams;
  // At most this many articles (each may yield several copies). REQUIRES: > 0.
  uint32_t max_articles = 100;
  // Stop adding articles once the page holds this many serialized bytes (always at least one
  // article, so that a page always makes progress).
  size_t max_bytes = size_t{16} << 20;
};

// One page of history.
struct HistoryPage {
  // In sequence order; within one article, in the order they were published.
  std::vector<v1::TaggedArticle> copies;
  // The last sequence this page covers: ask again with after_sequence = last_sequence.
  uint64_t last_sequence = 0;
  // True when the page reaches head_sequence.
  bool complete = false;
  // The newest sequence in the store when the page was read (0 when empty).
  uint64_t head_sequence = 0;
  // The oldest sequence the store still holds (head_sequence + 1 when it holds none): retention
  // removed everything below it, and a page asked for from further back starts here.
  uint64_t first_sequence = 1;
};

// A narrow interface so that the stage can be tested against a fake.
class Store {
 public:
  virtual ~Store() = default;

  // Stores `articles` in one transaction, idempotently by Article.id, stamping stored_at with
  // `now` (never earlier than the previous stored_at, so stored_at grows with sequence).
  // The caller keeps the articles (the sink stage parses them onto an arena); none is copied.
  // Returns one outcome per article, in order. On error nothing of the batch is stored;
  // kResourceExhausted means the store is full (disk or max_bytes) and the same batch may
  // succeed once space returns.
  // REQUIRES: no pointer is null, and every article has a non-empty id.
  virtual absl::StatusOr<std::vector<StoreOutcome>> StoreBatch(
      const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) = 0;

  // Reads one page of history.
  virtual absl::StatusOr<HistoryPage> ReadHistory(const HistoryQuery& query) = 0;

  // The newest store sequence (0 when nothing is stored).
  virtual uint64_t head_sequence() const = 0;

  // Bytes the store occupies (for the store size gauge).
  virtual absl::StatusOr<int64_t> SizeBytes() = 0;

  // The store's epoch: random, created with the store and kept in it (0: none).
  virtual uint64_t epoch() const { return 0; }

  // The newest sequence whose copies are known to have been published (persisted with every
  // batch): a crash between a batch's commit and its publication leaves it below
  // head_sequence(), and the copies above it are published at start-up.
  virtual uint64_t published_through() const { return head_sequence(); }
  // Records that every copy up to `sequence` was published. Not synced on its own (the next
  // batch's commit syncs it): a power loss right after may make sink publish those copies
  // again, with the same stream sequences.
  virtual absl::Status MarkPublished(uint64_t /*sequence*/) { return absl::OkStatus(); }

  // Removes the oldest articles that retention no longer keeps (a bounded number per call; call
  // again while it returns more than 0). Returns how many it removed.
  virtual absl::StatusOr<uint64_t> Trim(absl::Time /*now*/) { return 0; }
};

struct SqliteStoreOptions {
  // Database file; its parent directories are created. ":memory:" works for tests.
  std::string path = "data/sink/store.db";
  // PRAGMA synchronous=FULL: a committed batch survives power loss before ingest forgets it.
  // False uses NORMAL (WAL): faster, but the last batches may vanish on power loss although
  // ingest was already told they were stored, so those articles would be lost.
  bool fsync = true;
  // Articles stored longer ago than this are removed (zero: kept whatever their age).
  absl::Duration retention_age = absl::ZeroDuration();
  // The oldest articles are removed while the store's used pages exceed this many bytes (0: no
  // bound). Freed pages are reused, so the file stays about this size.
  int64_t retention_bytes = 0;
  // The store file may not grow beyond this many bytes (PRAGMA max_page_count; 0: no bound but
  // the disk's). A batch that would need more fails with kResourceExhausted, as one does when
  // the disk is full; pages freed by retention (or by anything else) are reused.
  int64_t max_bytes = 0;
};

// Store in one SQLite database in WAL mode. Not thread-safe: one stage thread owns it.
class SqliteStore : public Store {
 public:
  // Opens (creating when missing) the database at options.path.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const SqliteStoreOptions& options);
  ~SqliteStore() override;

  absl::StatusOr<std::vector<StoreOutcome>> StoreBatch(
      const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) override;
  absl::StatusOr<HistoryPage> ReadHistory(const HistoryQuery& query) override;
  uint64_t head_sequence() const override { return head_sequence_; }
  absl::StatusOr<int64_t> SizeBytes() override;
  absl::StatusOr<uint64_t> Trim(absl::Time now) override;
  uint64_t published_through() const override { return published_through_; }
  uint64_t epoch() const override { return epoch_; }
  absl::Status MarkPublished(uint64_t sequence) override;
  // The oldest sequence held (head_sequence() + 1 when none is).
  uint64_t first_sequence() const { return first_sequence_; }

 private:
  SqliteStore(std::unique_ptr<sqlite::Database> db, const SqliteStoreOptions& options,
              uint64_t head_sequence, uint64_t first_sequence, int64_t last_stored_at_us,
              uint64_t published_through, uint64_t epoch);
  // Writes meta `key` = `value` (in the caller's transaction, if any).
  absl::Status SetMeta(const char* key, int64_t value);
  // Bytes of the pages in use (the file less its free pages).
  absl::StatusOr<int64_t> UsedBytes();
  absl::StatusOr<std::vector<StoreOutcome>> StoreInTransaction(
      const std::vector<const v1::TaggedArticle*>& articles, absl::Time now);
  absl::StatusOr<std::vector<StoreOutcome>> StoreRows(
      const std::vector<const v1::TaggedArticle*>& articles, absl::Time now);
  // `status` as kResourceExhausted when the last statement failed for want of space.
  absl::Status FullOr(absl::Status status) const;
  // Inserts `article` as the next sequence with its stream positions and fills `outcome`.
  absl::Status Insert(const v1::TaggedArticle& article, int64_t stored_at_us,
                      StoreOutcome& outcome);
  absl::StatusOr<std::optional<uint64_t>> FindArticle(const std::string& id);
  // The last stream_sequence stored for `stream` (0 when none).
  absl::StatusOr<uint64_t> StreamHead(const std::string& stream);

  std::unique_ptr<sqlite::Database> db_;
  const SqliteStoreOptions options_;
  uint64_t head_sequence_ = 0;
  uint64_t first_sequence_ = 1;
  int64_t last_stored_at_us_ = 0;
  uint64_t published_through_ = 0;
  uint64_t epoch_ = 0;
  StreamSequences stream_sequences_;
};

// The SQL of SqliteStore's history queries, for tests that check their query plans: the copies
// of a range of sequences; the first copies of one stream after a sequence (LIMIT); one article.
extern const char kHistoryCopiesInRangeSql[];
extern const char kHistoryCopiesOfStreamSql[];
extern const char kHistoryArticleSql[];

// One stored article as StoreReader lists it.
struct StoredArticle {
  std::string article_id;
  uint64_t sequence = 0;
};

// One published copy as the store records it.
struct StoredCopy {
  std::string article_id;
  uint64_t sequence = 0;
  StreamPosition position;
};

// Reads the store that a running sink writes, without writing to it: how tools (the chaos run)
// see what was stored and published, without knowing the schema.
class StoreReader {
 public:
  // Opens the existing store at `path` for queries only (PRAGMA query_only); kNotFound while
  // sink has not created it yet.
  static absl::StatusOr<std::unique_ptr<StoreReader>> Open(const std::string& path);
  ~StoreReader();

  // The articles stored with a sequence above `after_sequence`, in sequence order.
  absl::StatusOr<std::vector<StoredArticle>> ReadArticles(uint64_t after_sequence);
  // Every copy the store records, in sequence order and within one article in publication
  // order.
  absl::StatusOr<std::vector<StoredCopy>> ReadCopies();

 private:
  explicit StoreReader(std::unique_ptr<sqlite::Database> db);

  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace topicwire::sink

#endif  // TOPICWIRE_SINK_STORE_H_
