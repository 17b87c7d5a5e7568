// Stream policy and copy framing: which streams a stored article is published on, how each
// stream numbers its copies, and the frames one published copy consists of.
#ifndef TOPICWIRE_SINK_STREAMS_H_
#define TOPICWIRE_SINK_STREAMS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/zmq_channel.h"
#include "proto/article.pb.h"

namespace topicwire::sink {

// The stream of articles that reached no topic's threshold.
inline constexpr char kUntaggedStream[] = "untagged";

// The streams an article is published on: each distinct tag topic in tag order, or
// kUntaggedStream when it has no tags.
std::vector<std::string> StreamsOf(const v1::TaggedArticle& article);

// Where one copy of an article is published: its stream and its number within that stream.
struct StreamPosition {
  std::string stream;
  uint64_t stream_sequence = 0;

  bool operator==(const StreamPosition&) const = default;
};

// Numbers the copies of each stream 1, 2, 3... without holes, continuing after what is already
// stored. Not thread-safe.
class StreamSequences {
 public:
  // Reads the last stream_sequence stored for a stream (0 when none); asked once per stream
  // until Forget().
  using HeadReader = std::function<absl::StatusOr<uint64_t>(const std::string& stream)>;

  explicit StreamSequences(HeadReader read_head) : read_head_(std::move(read_head)) {}

  // The positions of `article`'s copies, one per stream of StreamsOf(article) in that order,
  // each taking the next stream_sequence of its stream.
  absl::StatusOr<std::vector<StreamPosition>> Place(const v1::TaggedArticle& article);

  // Forgets the positions handed out so far (the transaction that stored them was rolled
  // back): each stream's head is read again.
  void Forget() { heads_.clear(); }

 private:
  HeadReader read_head_;
  absl::flat_hash_map<std::string, uint64_t> heads_;
};

// The message that publishes one copy of a stored article: [stream][TaggedArticle]. `stored` is
// the article as the store serialized it (StoreOutcome::serialized: sequence and stored_at set,
// no stream fields). The second frame is `stored` followed by a message holding only the
// position's stream and stream_sequence: protobuf merges concatenated messages, so it parses as
// the copy without re-serializing the article once per stream.
Frames CopyFrames(absl::string_view stored, const StreamPosition& position);

}  // namespace topicwire::sink

#endif  // TOPICWIRE_SINK_STREAMS_H_
