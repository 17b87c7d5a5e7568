// The sink's store: every tagged article once, with the store sequence and the per-stream
// sequences it was published with, so that late joiners can replay exactly what went out live.
#ifndef TOPICWIRE_SINK_STORE_H_
#define TOPICWIRE_SINK_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/article.pb.h"

namespace topicwire::sink {

// The stream of articles that reached no topic's threshold.
inline constexpr char kUntaggedStream[] = "untagged";

// The streams an article is published on: each distinct tag topic in tag order, or
// kUntaggedStream when it has no tags.
std::vector<std::string> StreamsOf(const v1::TaggedArticle& article);

// What happened to one article handed to Store::StoreBatch.
struct StoreOutcome {
  // False when an article with the same id was already stored (earlier, or earlier in the same
  // batch); nothing was changed then.
  bool newly_stored = false;
  // The store sequence of the article (the existing one when it was already stored).
  uint64_t sequence = 0;
  // Newly stored only: the copies to publish, one per stream, with stored_at, sequence, stream
  // and stream_sequence set.
  // Only when SqliteStoreOptions::fill_copies is set (tests, tools): a deep copy per stream
  // costs more than storing the article, so the stage publishes from the two fields below.
  std::vector<v1::TaggedArticle> copies;
  // Newly stored only: the stored article serialized once, with stored_at and sequence set and
  // no stream, as kept in the store.
  std::string serialized;
  absl::Time stored_at;
  // Newly stored only: (stream, stream_sequence) of each copy, in publication order.
  std::vector<std::pair<std::string, uint64_t>> streams;
};

// What turns `serialized` into copy `index` of a newly stored article: a message holding only
// stream and stream_sequence. Serialized after `serialized` (concatenated protobuf messages
// merge), the bytes parse exactly as the copy, without re-serializing the article per stream.
v1::TaggedArticle CopyStreamFields(const StoreOutcome& outcome, size_t index);

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
};

// A narrow interface so that the stage can be tested against a fake.
class Store {
 public:
  virtual ~Store() = default;

  // Stores `articles` in one transaction, idempotently by Article.id, stamping stored_at with
  // `now` (never earlier than the previous stored_at, so stored_at grows with sequence).
  // Returns one outcome per article, in order. On error nothing of the batch is stored.
  // REQUIRES: every article has a non-empty id.
  virtual absl::StatusOr<std::vector<StoreOutcome>> StoreBatch(
      const std::vector<v1::TaggedArticle>& articles, absl::Time now) = 0;

  // StoreBatch() for articles the caller holds elsewhere (the sink stage parses them onto an
  // Arena), without moving or copying them. The default copies them and calls StoreBatch().
  // REQUIRES: no pointer is null.
  virtual absl::StatusOr<std::vector<StoreOutcome>> StoreArticles(
      const std::vector<const v1::TaggedArticle*>& articles, absl::Time now);

  // Reads one page of history.
  virtual absl::StatusOr<HistoryPage> ReadHistory(const HistoryQuery& query) = 0;

  // The newest store sequence (0 when nothing is stored).
  virtual uint64_t head_sequence() const = 0;

  // Bytes the store occupies (for the store size gauge).
  virtual absl::StatusOr<int64_t> SizeBytes() = 0;
};

struct SqliteStoreOptions {
  // Database file; its parent directories are created. ":memory:" works for tests.
  std::string path = "data/sink/store.db";
  // PRAGMA synchronous=FULL: a committed batch survives power loss before ingest forgets it.
  // False uses NORMAL (WAL): faster, but the last batches may vanish on power loss although
  // ingest was already told they were stored, so those articles would be lost.
  bool fsync = true;
  // Also fill StoreOutcome::copies. The sink stage turns this off (it publishes from
  // StoreOutcome::serialized); it cost about half of sink's CPU with realistic tag evidence.
  bool fill_copies = true;
};

// Store in one SQLite database in WAL mode. Not thread-safe: one stage thread owns it.
class SqliteStore : public Store {
 public:
  // Opens (creating when missing) the database at options.path.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const SqliteStoreOptions& options);
  ~SqliteStore() override;

  absl::StatusOr<std::vector<StoreOutcome>> StoreBatch(
      const std::vector<v1::TaggedArticle>& articles, absl::Time now) override;
  absl::StatusOr<std::vector<StoreOutcome>> StoreArticles(
      const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) override;
  absl::StatusOr<HistoryPage> ReadHistory(const HistoryQuery& query) override;
  uint64_t head_sequence() const override { return head_sequence_; }
  absl::StatusOr<int64_t> SizeBytes() override;

 private:
  class Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl, uint64_t head_sequence);

  std::unique_ptr<Impl> impl_;
  uint64_t head_sequence_ = 0;
};

}  // namespace topicwire::sink

#endif  // TOPICWIRE_SINK_STORE_H_
