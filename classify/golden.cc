#include "classify/golden.h"

#include <algorithm>
#include <fstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace topicwire::classify {
namespace {

using google::protobuf::util::JsonParseOptions;
using google::protobuf::util::JsonStringToMessage;
using google::protobuf::util::MessageToJsonString;

// The strings of a JSON list field, or an error naming the field.
absl::StatusOr<std::vector<std::string>> StringList(const google::protobuf::Struct& line,
                                                    const std::string& field) {
  std::vector<std::string> out;
  auto it = line.fields().find(field);
  if (it == line.fields().end()) return out;
  if (!it->second.has_list_value()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", field, "\" must be a list of topic ids"));
  }
  for (const google::protobuf::Value& value : it->second.list_value().values()) {
    if (!value.has_string_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", field, "\" must be a list of topic ids (strings)"));
    }
    out.push_back(value.string_value());
  }
  return out;
}

absl::StatusOr<GoldenCase> ParseCase(const std::string& text, const std::string& source) {
  google::protobuf::Struct line;
  if (const auto parsed = JsonStringToMessage(text, &line); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a JSON object: ", std::string(parsed.message())));
  }
  GoldenCase golden;
  golden.source = source;
  absl::StatusOr<std::vector<std::string>> expect = StringList(line, "expect");
  if (!expect.ok()) return expect.status();
  absl::StatusOr<std::vector<std::string>> absent = StringList(line, "absent");
  if (!absent.ok()) return absent.status();
  golden.expect = *std::move(expect);
  golden.absent = *std::move(absent);
  if (golden.expect.empty() && golden.absent.empty()) {
    return absl::InvalidArgumentError("the case sets neither \"expect\" nor \"absent\"");
  }
  if (auto name = line.fields().find("name"); name != line.fields().end()) {
    golden.name = name->second.string_value();
  }
  // The rest is the article.
  for (const char* field : {"expect", "absent", "name"}) line.mutable_fields()->erase(field);
  std::string article_json;
  (void)MessageToJsonString(line, &article_json);
  JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (const auto parsed = JsonStringToMessage(article_json, &golden.article, options);
      !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an Article: ", std::string(parsed.message())));
  }
  if (golden.name.empty()) golden.name = golden.article.id();
  if (golden.name.empty()) golden.name = source;
  return golden;
}

}  // namespace

absl::StatusOr<std::vector<GoldenCase>> ReadGoldenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read golden file ", path));
  std::vector<GoldenCase> cases;
  std::string text;
  for (int line_number = 1; std::getline(in, text); ++line_number) {
    const absl::string_view stripped = absl::StripAsciiWhitespace(text);
    if (stripped.empty() || absl::StartsWith(stripped, "#")) continue;
    const std::string source = absl::StrCat(path, ":", line_number);
    absl::StatusOr<GoldenCase> golden = ParseCase(std::string(stripped), source);
    if (!golden.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": ", golden.status().message()));
    }
    cases.push_back(*std::move(golden));
  }
  if (cases.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no golden cases"));
  return cases;
}

GoldenResult RunGoldenCases(const Classifier& classifier, const std::vector<GoldenCase>& cases) {
  GoldenResult result;
  for (const GoldenCase& golden : cases) {
    const v1::TaggedArticle tagged = classifier.Tag(golden.article);
    absl::flat_hash_set<std::string> got;
    std::vector<std::string> got_list;
    for (const v1::Tag& tag : tagged.tags()) {
      got.insert(tag.topic());
      got_list.push_back(tag.topic());
    }
    std::vector<std::string> missing, unwanted;
    for (const std::string& topic : golden.expect) {
      if (!got.contains(topic)) missing.push_back(topic);
    }
    for (const std::string& topic : golden.absent) {
      if (got.contains(topic)) unwanted.push_back(topic);
    }
    if (missing.empty() && unwanted.empty()) {
      ++result.passed;
      continue;
    }
    ++result.failed;
    absl::StrAppend(&result.diff, "FAIL ", golden.name, " (", golden.source, ")\n", "  expected: [",
                    absl::StrJoin(golden.expect, ", "), "]  absent: [",
                    absl::StrJoin(golden.absent, ", "), "]\n  got:      [",
                    absl::StrJoin(got_list, ", "), "]\n");
    std::vector<v1::Tag> scored = classifier.ScoreTopics(golden.article);
    for (const std::string& topic : missing) {
      absl::StrAppend(&result.diff, "  - ", topic, " (expected, not tagged");
      auto partial = std::find_if(scored.begin(), scored.end(),
                                  [&](const v1::Tag& tag) { return tag.topic() == topic; });
      if (partial != scored.end()) {
        absl::StrAppendFormat(&result.diff, ": score %.2f < threshold %.2f", partial->score(),
                              partial->threshold());
      } else {
        absl::StrAppend(&result.diff, ": no term matched");
      }
      absl::StrAppend(&result.diff, ")\n");
    }
    for (const std::string& topic : unwanted) {
      for (const v1::Tag& tag : tagged.tags()) {
        if (tag.topic() != topic) continue;
        absl::StrAppendFormat(&result.diff, "  + %s (must be absent; score %.2f from", topic,
                              tag.score());
        for (const v1::Evidence& evidence : tag.evidence()) {
          absl::StrAppendFormat(&result.diff, " \"%s\"", evidence.matched_text());
        }
        absl::StrAppend(&result.diff, ")\n");
      }
    }
  }
  return result;
}

}  // namespace topicwire::classify
