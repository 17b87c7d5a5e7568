// The verdict of a chaos run: compares the ids the publisher saw accepted with what sink's store
// and streams hold. Pure functions, no sockets or files, so the arithmetic is unit-tested.
#ifndef TOPICWIRE_CHAOS_VERIFY_H_
#define TOPICWIRE_CHAOS_VERIFY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "chaos/chaos_report.pb.h"

namespace topicwire::chaos {

// One published copy of an article: the store sequence it was stored under and the stream
// position it was published at.
struct StreamCopy {
  std::string article_id;
  uint64_t sequence = 0;
  std::string stream;
  uint64_t stream_sequence = 0;
};

struct VerifyInput {
  // Ids the publisher was told are accepted.
  absl::flat_hash_set<std::string> accepted;
  // Every row of the store as (article id, store sequence).
  std::vector<std::pair<std::string, uint64_t>> stored;
  // Every copy the store says it published (sink's streams table / history).
  std::vector<StreamCopy> history;
  // Every copy a live subscriber received, in arrival order.
  std::vector<StreamCopy> live;
};

// Computes lost (accepted, not stored), duplicated (stored under two sequences, or published
// twice on one stream, seen either in history or live), stored_not_accepted, the live/history
// figures and the stream problems. Examples hold at most 20 ids each, sorted.
ChaosReport::Verification Verify(const VerifyInput& input);

}  // namespace topicwire::chaos

#endif  // TOPICWIRE_CHAOS_VERIFY_H_
