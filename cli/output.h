// How the CLI prints tagged articles: the protobuf JSON mapping (machine-readable, one per line)
// or a compact line for people.
#ifndef TOPICWIRE_CLI_OUTPUT_H_
#define TOPICWIRE_CLI_OUTPUT_H_

#include <string>

#include "absl/status/statusor.h"
#include "proto/article.pb.h"

namespace topicwire::cli {

// kNinjs: IPTC ninjs 3.x JSON, one news item per line (classify/tag_output.h).
enum class OutputFormat { kJson, kText, kNinjs };

// Parses "json", "text" or "ninjs"; kInvalidArgument otherwise.
absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text);

// The TaggedArticle's JSON mapping on one line (no trailing newline).
std::string FormatJson(const v1::TaggedArticle& tagged);

// "ai#12 seq=40 [ai 4.00, semiconductors 2.00] Title" (stream parts omitted when unset, "-" for
// no tags). No trailing newline.
std::string FormatText(const v1::TaggedArticle& tagged);

// The whole line in `format`, with a trailing newline.
std::string FormatLine(const v1::TaggedArticle& tagged, OutputFormat format);

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_OUTPUT_H_
