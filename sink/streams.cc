#include "sink/streams.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "common/status_macros.h"

namespace topicwire::sink {

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

absl::StatusOr<std::vector<StreamPosition>> StreamSequences::Place(
    const v1::TaggedArticle& article) {
  std::vector<StreamPosition> positions;
  for (std::string& stream : StreamsOf(article)) {
    auto it = heads_.find(stream);
    if (it == heads_.end()) {
      ASSIGN_OR_RETURN(uint64_t head, read_head_(stream));
      it = heads_.emplace(stream, head).first;
    }
    positions.push_back({.stream = std::move(stream), .stream_sequence = ++it->second});
  }
  return positions;
}

Frames CopyFrames(absl::string_view stored, const StreamPosition& position) {
  v1::TaggedArticle stream_fields;
  stream_fields.set_stream(position.stream);
  stream_fields.set_stream_sequence(position.stream_sequence);
  Frames frames;
  frames.emplace_back(position.stream.data(), position.stream.size());
  frames.push_back(ToFrameAfter(stored, stream_fields));
  return frames;
}

}  // namespace topicwire::sink
