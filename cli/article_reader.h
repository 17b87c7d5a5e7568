// Reads articles for `topicwire publish` and `topicwire tag` from the formats people have:
// JSON (one Article object or an array of them), JSON Lines (one Article per line) and plain text
// or Markdown. JSON uses the protobuf JSON mapping of topicwire.v1.Article; unknown fields are
// ignored, so labelled datasets with extra fields (labels, lang, ...) load as they are.
#ifndef TOPICWIRE_CLI_ARTICLE_READER_H_
#define TOPICWIRE_CLI_ARTICLE_READER_H_

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/article.pb.h"

namespace topicwire::cli {

// An article and where it came from ("feed.jsonl:12"), so that messages about it can point at it.
struct SourcedArticle {
  v1::Article article{};
  std::string origin{};
};

// How the content of one input is read.
enum class InputFormat {
  kJson,       // one object, or an array of objects
  kJsonLines,  // one object per non-blank line
  kText,       // first line is the title (leading '#' stripped), the rest is the body
  kSniff,      // '[' starts an array; otherwise one object, else JSON Lines (for stdin)
};

// The format implied by a file name: .json, .jsonl/.ndjson, .txt/.md/.markdown; anything else
// (and "-", standard input) is kSniff.
InputFormat FormatForName(absl::string_view name);

// Parses `content`; `name` is used in error messages and origins. Errors are kInvalidArgument
// and name the input and, for JSON Lines, the line ("feed.jsonl:3: ...").
absl::StatusOr<std::vector<SourcedArticle>> ParseArticles(absl::string_view content,
                                                          absl::string_view name,
                                                          InputFormat format);

// Reads the file at `path` ("-" reads `stdin_stream`) in the format its name implies. A file that
// cannot be read is kNotFound naming the path.
absl::StatusOr<std::vector<SourcedArticle>> ReadArticles(const std::string& path,
                                                         std::istream& stdin_stream);

// ReadArticles() of every path in order, in one list; no paths reads standard input.
absl::StatusOr<std::vector<SourcedArticle>> ReadAllArticles(const std::vector<std::string>& paths,
                                                            std::istream& stdin_stream);

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_ARTICLE_READER_H_
