// Reads sink's SQLite store (schema in sink/store.cc) while sink runs, without writing to it:
// the chaos run's view of what was stored and published.
#ifndef TOPICWIRE_CHAOS_STORE_READER_H_
#define TOPICWIRE_CHAOS_STORE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chaos/verify.h"

struct sqlite3;

namespace topicwire::chaos {

class StoreReader {
 public:
  // Opens the existing database at `path` for queries only (PRAGMA query_only); kNotFound while
  // sink has not created it yet.
  static absl::StatusOr<std::unique_ptr<StoreReader>> Open(const std::string& path);
  ~StoreReader();
  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  // Appends (article id, sequence) for every article stored with a sequence above the highest
  // one returned so far.
  absl::Status ReadNewArticles(std::vector<std::pair<std::string, uint64_t>>& out);
  // Every article ever stored, as (article id, sequence).
  absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> ReadAllArticles();
  // Every published copy (stream position) the store records.
  absl::StatusOr<std::vector<StreamCopy>> ReadAllCopies();

 private:
  explicit StoreReader(sqlite3* db) : db_(db) {}
  absl::Status Query(const std::string& sql, uint64_t after,
                     std::vector<std::pair<std::string, uint64_t>>& out);

  sqlite3* db_;
  uint64_t last_sequence_ = 0;
};

}  // namespace topicwire::chaos

#endif  // TOPICWIRE_CHAOS_STORE_READER_H_
