#include "cli/article_reader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"

namespace topicwire::cli {
namespace {

google::protobuf::util::JsonParseOptions LenientJson() {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return options;
}

// protobuf 3.21 has its own Status type; its message is what a user needs, the code adds nothing.
template <typename ProtobufStatus>
std::string JsonError(const ProtobufStatus& status) {
  std::string message(status.message());
  return message.empty() ? status.ToString() : message;
}

absl::StatusOr<std::vector<SourcedArticle>> ParseJsonArray(absl::string_view content,
                                                           absl::string_view name) {
  // PublishRequest is exactly {"articles": [Article...]}, so the JSON parser reads the array.
  v1::PublishRequest wrapper;
  const std::string wrapped = absl::StrCat("{\"articles\":", content, "}");
  if (auto status = google::protobuf::util::JsonStringToMessage(wrapped, &wrapper, LenientJson());
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": not a JSON array of articles: ", JsonError(status)));
  }
  std::vector<SourcedArticle> articles;
  for (int i = 0; i < wrapper.articles_size(); ++i) {
    articles.push_back({std::move(*wrapper.mutable_articles(i)), absl::StrCat(name, "[", i, "]")});
  }
  return articles;
}

absl::StatusOr<std::vector<SourcedArticle>> ParseJsonObject(absl::string_view content,
                                                            absl::string_view name) {
  SourcedArticle article;
  article.origin = std::string(name);
  if (auto status = google::protobuf::util::JsonStringToMessage(std::string(content),
                                                                &article.article, LenientJson());
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": not a JSON article: ", JsonError(status)));
  }
  return std::vector<SourcedArticle>{std::move(article)};
}

absl::StatusOr<std::vector<SourcedArticle>> ParseJsonLines(absl::string_view content,
                                                           absl::string_view name) {
  std::vector<SourcedArticle> articles;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    SourcedArticle article;
    article.origin = absl::StrCat(name, ":", line_number);
    if (auto status = google::protobuf::util::JsonStringToMessage(std::string(line),
                                                                  &article.article, LenientJson());
        !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          article.origin, ": not a JSON article (one object per line): ", JsonError(status)));
    }
    articles.push_back(std::move(article));
  }
  return articles;
}

absl::StatusOr<std::vector<SourcedArticle>> ParseText(absl::string_view content,
                                                      absl::string_view name) {
  content = absl::StripAsciiWhitespace(content);
  if (content.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": empty file (an article needs a title or a body)"));
  }
  absl::string_view title = content;
  absl::string_view body;
  if (size_t newline = content.find('\n'); newline != absl::string_view::npos) {
    title = content.substr(0, newline);
    body = absl::StripAsciiWhitespace(content.substr(newline + 1));
  }
  while (absl::ConsumePrefix(&title, "#")) {
  }
  title = absl::StripAsciiWhitespace(title);
  SourcedArticle article;
  article.origin = std::string(name);
  article.article.set_title(std::string(title));
  article.article.set_body(std::string(body));
  return std::vector<SourcedArticle>{std::move(article)};
}

}  // namespace

InputFormat FormatForName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (absl::EndsWith(lower, ".jsonl") || absl::EndsWith(lower, ".ndjson")) {
    return InputFormat::kJsonLines;
  }
  if (absl::EndsWith(lower, ".json")) return InputFormat::kJson;
  if (absl::EndsWith(lower, ".txt") || absl::EndsWith(lower, ".md") ||
      absl::EndsWith(lower, ".markdown")) {
    return InputFormat::kText;
  }
  return InputFormat::kSniff;
}

absl::StatusOr<std::vector<SourcedArticle>> ParseArticles(absl::string_view content,
                                                          absl::string_view name,
                                                          InputFormat format) {
  const absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(content);
  switch (format) {
    case InputFormat::kText:
      return ParseText(content, name);
    case InputFormat::kJsonLines:
      return ParseJsonLines(content, name);
    case InputFormat::kJson:
      if (absl::StartsWith(trimmed, "[")) return ParseJsonArray(content, name);
      return ParseJsonObject(content, name);
    case InputFormat::kSniff:
      break;
  }
  if (absl::StartsWith(trimmed, "[")) return ParseJsonArray(content, name);
  if (!absl::StartsWith(trimmed, "{")) {
    return absl::InvalidArgumentError(
        absl::StrCat(name,
                     ": expected JSON (an article object, an array, or one object per line); name "
                     "plain-text files *.txt or *.md"));
  }
  // One object spread over several lines, or JSON Lines: try the first, report as the second.
  if (absl::StatusOr<std::vector<SourcedArticle>> single = ParseJsonObject(content, name);
      single.ok()) {
    return single;
  }
  return ParseJsonLines(content, name);
}

absl::StatusOr<std::vector<SourcedArticle>> ReadArticles(const std::string& path,
                                                         std::istream& stdin_stream) {
  std::string content;
  if (path == "-") {
    content.assign(std::istreambuf_iterator<char>(stdin_stream), std::istreambuf_iterator<char>());
    return ParseArticles(content, "<stdin>", InputFormat::kSniff);
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << file.rdbuf();
  return ParseArticles(buffer.str(), path, FormatForName(path));
}

absl::StatusOr<std::vector<SourcedArticle>> ReadAllArticles(const std::vector<std::string>& paths,
                                                            std::istream& stdin_stream) {
  std::vector<std::string> inputs = paths;
  if (inputs.empty()) inputs.push_back("-");
  std::vector<SourcedArticle> all;
  for (const std::string& path : inputs) {
    absl::StatusOr<std::vector<SourcedArticle>> articles = ReadArticles(path, stdin_stream);
    if (!articles.ok()) return articles.status();
    for (SourcedArticle& article : *articles) all.push_back(std::move(article));
  }
  return all;
}

}  // namespace topicwire::cli
