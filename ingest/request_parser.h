// Turns one publish frame into articles, tolerating articles whose strings are not UTF-8 so
// that only those articles are refused, not the whole frame.
#ifndef TOPICWIRE_INGEST_REQUEST_PARSER_H_
#define TOPICWIRE_INGEST_REQUEST_PARSER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ingest/validator.h"
#include "proto/article.pb.h"

namespace topicwire::ingest {

// One article of a PublishRequest as it arrived.
struct IncomingArticle {
  // The parsed article; meaningful only when `rejection` is unset.
  v1::Article article;
  // Its size on the wire.
  size_t serialized_bytes = 0;
  // Set when the article could not be parsed as a v1::Article (e.g. invalid UTF-8).
  std::optional<Rejection> rejection;
  // The publisher's id when it could be read, for the ack of a rejected article.
  std::string publisher_id;
};

// Parses a PublishRequest frame. Returns kInvalidArgument with a message for the publisher
// when the frame as a whole is unusable: not a PublishRequest even when strings are read as
// bytes, or no articles.
absl::StatusOr<std::vector<IncomingArticle>> ParsePublishFrame(absl::string_view frame);

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_REQUEST_PARSER_H_
