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

namespace {

constexpr const char* kScopeNames[] = {"near the match", "in the sentence", "in the title",
                                       "in the article"};

// "veto in the sentence: insemination, inseminate, semen, ..."
std::string SummarizeSense(const v1::SenseRule& sense) {
  const bool is_veto = sense.require().empty();
  const auto& words = is_veto ? sense.veto() : sense.require();
  constexpr int kShownWords = 4;
  std::vector<std::string> shown;
  for (int i = 0; i < words.size() && i < kShownWords; ++i) shown.push_back(words[i]);
  if (words.size() > kShownWords) shown.push_back("...");
  const int scope = sense.scope();
  return absl::StrCat(is_veto ? "veto " : "require ",
                      scope >= 0 && scope < 4 ? kScopeNames[scope] : kScopeNames[0], ": ",
                      absl::StrJoin(shown, ", "));
}

bool Names(const GoldenCase& golden, const std::string& topic) {
  return std::find(golden.expect.begin(), golden.expect.end(), topic) != golden.expect.end() ||
         std::find(golden.absent.begin(), golden.absent.end(), topic) != golden.absent.end();
}

void AddOnce(std::vector<std::string>& names, const std::string& name) {
  if (names.empty() || names.back() != name) names.push_back(name);
}

}  // namespace

GoldenCoverage::GoldenCoverage(const v1::Taxonomy& taxonomy) {
  sense_rules_.resize(taxonomy.topics_size());
  for (int t = 0; t < taxonomy.topics_size(); ++t) topic_index_[taxonomy.topics(t).id()] = t;
  convention_rules_.resize(taxonomy.topics_size());
  for (int t = 0; t < taxonomy.topics_size(); ++t) {
    const v1::Topic& topic = taxonomy.topics(t);
    for (int y = 0; y < topic.yields_to_size(); ++y) {
      const v1::Yield& yield = topic.yields_to(y);
      convention_rules_[t].push_back(static_cast<int>(rules_.size()));
      rules_.push_back(RuleCoverage{.is_convention = true,
                                    .topic = topic.id(),
                                    .index = y,
                                    .rule = absl::StrCat("yields to ", yield.topic()),
                                    .reason = yield.reason()});
    }
    sense_rules_[t].resize(topic.terms_size());
    for (int k = 0; k < topic.terms_size(); ++k) {
      const v1::Term& term = topic.terms(k);
      for (int r = 0; r < term.senses_size(); ++r) {
        sense_rules_[t][k].push_back(static_cast<int>(rules_.size()));
        rules_.push_back(RuleCoverage{.topic = topic.id(),
                                      .term = term.regex().empty() ? term.text() : term.regex(),
                                      .index = r,
                                      .rule = SummarizeSense(term.senses(r)),
                                      .reason = term.senses(r).reason()});
      }
    }
  }
}

void GoldenCoverage::Record(const GoldenCase& golden,
                            const std::vector<Classifier::TopicDecision>& decisions) {
  for (const Classifier::TopicDecision& decision : decisions) {
    const std::string& topic_id = decision.tag.topic();
    if (!Names(golden, topic_id)) continue;
    const auto topic = topic_index_.find(topic_id);
    if (topic == topic_index_.end()) continue;
    const int t = topic->second;
    for (const Classifier::VetoedMatch& vetoed : decision.vetoed) {
      AddOnce(rules_[sense_rules_[t][vetoed.term][vetoed.sense]].fired, golden.name);
    }
    if (decision.yielded && decision.yield_rule >= 0) {
      AddOnce(rules_[convention_rules_[t][decision.yield_rule]].fired, golden.name);
    }
    const bool expected =
        std::find(golden.expect.begin(), golden.expect.end(), topic_id) != golden.expect.end();
    if (!expected) continue;
    for (int term : decision.evidence_terms) {
      for (int rule : sense_rules_[t][term]) AddOnce(rules_[rule].kept, golden.name);
    }
  }
}

int GoldenCoverage::covered_count() const {
  return static_cast<int>(std::count_if(rules_.begin(), rules_.end(),
                                        [](const RuleCoverage& r) { return r.covered(); }));
}

std::string GoldenCoverage::UncoveredReport() const {
  std::string report;
  for (const RuleCoverage& rule : rules_) {
    if (rule.covered()) continue;
    const std::string reason = rule.reason.empty() ? "no reason given" : rule.reason;
    if (rule.is_convention) {
      absl::StrAppend(&report, "UNCOVERED ", rule.topic, ": yields_to[", rule.index, "] ",
                      rule.rule, " (", reason, ")\n");
      absl::StrAppend(&report, "  - no case where ", rule.topic, " gives way: add one that is ",
                      rule.rule.substr(sizeof("yields to ") - 1), " news and mentions ", rule.topic,
                      " enough to tag it alone, with \"", rule.topic, "\" in \"absent\"\n");
      continue;
    }
    absl::StrAppend(&report, "UNCOVERED ", rule.topic, ": term \"", rule.term, "\" senses[",
                    rule.index, "] ", rule.rule, " (", reason, ")\n");
    if (rule.fired.empty()) {
      absl::StrAppend(&report, "  - no case where the rule drops a match: add one that uses \"",
                      rule.term, "\" in the other sense, with \"", rule.topic,
                      "\" in \"absent\"\n");
    }
    if (rule.kept.empty()) {
      absl::StrAppend(
          &report, "  - no case where the real sense still counts: add one that uses \"", rule.term,
          "\" in the topic's sense, with \"", rule.topic, "\" in \"expect\"\n");
    }
  }
  return report;
}

GoldenResult RunGoldenCases(const Classifier& classifier, const std::vector<GoldenCase>& cases,
                            GoldenCoverage* coverage) {
  GoldenResult result;
  for (const GoldenCase& golden : cases) {
    if (coverage != nullptr) coverage->Record(golden, classifier.Explain(golden.article));
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
