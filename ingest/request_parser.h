// Turns one publish frame into articles, tolerating articles whose strings are not UTF-8 so
// that only those articles are refused, not the whole frame.
#ifndef TOPICWIRE_INGEST_REQUEST_PARSER_H_
#define TOPICWIRE_INGEST_REQUEST_PARSER_H_

#include <cstdint>
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

// What one request may hold unless --max_articles_per_request says otherwise.
inline constexpr int64_t kDefaultMaxArticlesPerRequest = 10'000;

// Parses a PublishRequest frame. Returns kInvalidArgument with a message for the publisher
// when the frame as a whole is unusable: not a PublishRequest even when strings are read as
// bytes, or no articles; kResourceExhausted when it holds more than `max_articles` articles,
// found by counting them on the wire before any is parsed (a 15 MB request of headlines alone
// would otherwise become gigabytes of parsed articles).
absl::StatusOr<std::vector<IncomingArticle>> ParsePublishFrame(
    absl::string_view frame, int64_t max_articles = kDefaultMaxArticlesPerRequest);

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_REQUEST_PARSER_H_
