// The chaos run's view of what sink stored and published, read while sink runs through the
// store's own read API (sink::StoreReader), so that chaos never depends on sink's schema.
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
#include "sink/store.h"

namespace topicwire::chaos {

class StoreReader {
 public:
  // Opens the existing store at `path` for queries only; kNotFound while sink has not created
  // it yet.
  static absl::StatusOr<std::unique_ptr<StoreReader>> Open(const std::string& path);

  // Appends (article id, sequence) for every article stored with a sequence above the highest
  // one returned so far.
  absl::Status ReadNewArticles(std::vector<std::pair<std::string, uint64_t>>& out);
  // Every article ever stored, as (article id, sequence).
  absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> ReadAllArticles();
  // Every published copy (stream position) the store records.
  absl::StatusOr<std::vector<StreamCopy>> ReadAllCopies();

 private:
  explicit StoreReader(std::unique_ptr<sink::StoreReader> store) : store_(std::move(store)) {}

  std::unique_ptr<sink::StoreReader> store_;
  uint64_t last_sequence_ = 0;
};

}  // namespace topicwire::chaos

#endif  // TOPICWIRE_CHAOS_STORE_READER_H_
