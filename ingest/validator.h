// Checks one Article against ingest's rules and explains any problem in words a person can act
// on. Pure: no sockets, no journal.
#ifndef TOPICWIRE_INGEST_VALIDATOR_H_
#define TOPICWIRE_INGEST_VALIDATOR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "ingest/lenient_publish.pb.h"
#include "proto/article.pb.h"

namespace topicwire::ingest {

// Why an article was rejected; also the `reason` label of the rejected-articles metric.
// kMalformed stays last: metrics size their arrays by it.
enum class RejectKind {
  kEmpty,
  kUtf8,
  kTooLarge,
  kBadUrl,
  kBadId,
  kTooManyArticles,
  kTooManyFrames,
  kMalformed
};

// The metric label for `kind`: "empty", "utf8", "too_large", "bad_url", "bad_id",
// "too_many_articles", "too_many_frames", "malformed_frame".
absl::string_view RejectKindLabel(RejectKind kind);

struct Rejection {
  RejectKind kind;
  // A sentence saying what is wrong and what to change.
  std::string reason;
};

struct ValidatorOptions {
  // Largest accepted serialized Article, in bytes (--max_article_bytes).
  int64_t max_article_bytes = 1 << 20;
};

// Longest publisher-given id, in bytes.
inline constexpr size_t kMaxIdBytes = 256;

// Returns why `article` must be rejected, or nullopt when it is acceptable. `serialized_bytes`
// is its size on the wire. Checks, in order: size, title or body present, UTF-8 in every string
// field, url (absolute http/https with a host), id (at most 256 bytes, no control characters).
std::optional<Rejection> ValidateArticle(const v1::Article& article, size_t serialized_bytes,
                                         const ValidatorOptions& options);

// Returns the rejection for the first string field of `article` that is not valid UTF-8
// ("field 'title' is not valid UTF-8 at byte 17"), or nullopt when every field is valid.
std::optional<Rejection> FindInvalidUtf8(const lenient::LenientArticle& article);

// Returns why `url` is not an absolute http(s) URL with a host, or nullopt when it is.
std::optional<std::string> CheckUrl(absl::string_view url);

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_VALIDATOR_H_
