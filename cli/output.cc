#include "cli/output.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "classify/tag_output.h"
#include "common/terminal_text.h"
#include "google/protobuf/util/json_util.h"

namespace topicwire::cli {

absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text) {
  if (text == "json") return OutputFormat::kJson;
  if (text == "text") return OutputFormat::kText;
  if (text == "ninjs") return OutputFormat::kNinjs;
  return absl::InvalidArgumentError(absl::StrCat(
      "--format=", text, " is not a format; use json or text, or ninjs for IPTC ninjs 3.x"));
}

std::string FormatJson(const v1::TaggedArticle& tagged) {
  std::string json;
  // Serializing a valid message cannot fail; the default options print one line.
  (void)google::protobuf::util::MessageToJsonString(tagged, &json);
  return json;
}

std::string FormatText(const v1::TaggedArticle& tagged) {
  std::string line;
  if (!tagged.stream().empty()) {
    absl::StrAppend(&line, tagged.stream(), "#", tagged.stream_sequence(), " ");
  }
  if (tagged.sequence() != 0) absl::StrAppend(&line, "seq=", tagged.sequence(), " ");
  absl::StrAppend(&line, "[");
  if (tagged.tags().empty()) absl::StrAppend(&line, "-");
  for (int i = 0; i < tagged.tags_size(); ++i) {
    absl::StrAppend(&line, i > 0 ? ", " : "", tagged.tags(i).topic(), " ",
                    absl::StrFormat("%.2f", tagged.tags(i).score()));
  }
  absl::StrAppend(&line, "] ");
  const v1::Article& article = tagged.article();
  if (!article.id().empty()) absl::StrAppend(&line, article.id(), ": ");
  std::string title = article.title();
  if (title.empty()) {
    // First 80 bytes of the body, cut at a UTF-8 character boundary.
    size_t end = std::min<size_t>(article.body().size(), 80);
    while (end > 0 && end < article.body().size() &&
           (static_cast<unsigned char>(article.body()[end]) & 0xC0) == 0x80) {
      --end;
    }
    title = article.body().substr(0, end);
  }
  absl::StrAppend(&line, title);
  // Every field may come from a publisher: nothing in it may act on the reader's terminal.
  return TerminalSafe(line);
}

std::string FormatLine(const v1::TaggedArticle& tagged, OutputFormat format) {
  switch (format) {
    case OutputFormat::kJson:
      return absl::StrCat(FormatJson(tagged), "\n");
    case OutputFormat::kNinjs:
      return absl::StrCat(classify::FormatNinjs(tagged), "\n");
    case OutputFormat::kText:
      break;
  }
  return absl::StrCat(FormatText(tagged), "\n");
}

}  // namespace topicwire::cli
