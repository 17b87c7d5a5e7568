#include "classify/taxonomy_lint.h"

#include <hs/hs.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "classify/taxonomy.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "proto/taxonomy.pb.h"

namespace topicwire::classify {
namespace {

using google::protobuf::TextFormat;

// Turns every parser error and warning (unknown fields are warnings when allowed) into a problem.
class ProblemCollector : public google::protobuf::io::ErrorCollector {
 public:
  ProblemCollector(const std::string& source_name, std::vector<LintProblem>& problems)
      : source_name_(source_name), problems_(problems) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    problems_.push_back(LintProblem{.source_name = source_name_,
                                    .line = line + 1,
                                    .message = absl::StrCat("column ", column + 1, ": ", message)});
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }

 private:
  const std::string& source_name_;
  std::vector<LintProblem>& problems_;
};

bool IsValidTopicId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (!(absl::ascii_islower(u) || absl::ascii_isdigit(u) || c == '_')) return false;
  }
  return true;
}

bool IsIptcMediaTopic(absl::string_view code) {
  if (!absl::ConsumePrefix(&code, "medtop:") || code.size() != 8) return false;
  for (char c : code) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Two terms are duplicates when they match the same text: English terms compare without case
// (unless case-sensitive or an acronym), regexes as written.
std::string DuplicateKey(const v1::Term& term) {
  if (!term.regex().empty()) return absl::StrCat("regex:", term.regex());
  const std::string text(absl::StripAsciiWhitespace(term.text()));
  if (term.case_sensitive() || IsAcronym(text)) return absl::StrCat("text:", text);
  return absl::StrCat("text:", absl::AsciiStrToLower(text));
}

// The Vectorscan error for `pattern`, or empty when it compiles.
std::string CompileError(const PatternSpec& pattern) {
  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile(pattern.expression.c_str(), pattern.flags, HS_MODE_BLOCK, nullptr, &database,
                 &error) == HS_SUCCESS) {
    hs_free_database(database);
    return "";
  }
  std::string message = error != nullptr && error->message != nullptr ? error->message : "unknown";
  hs_free_compile_error(error);
  return message;
}

// The problems of one sense rule of `term`: malformed (CheckSenseRule), blank or repeated words,
// a rule that always or never decides, a veto word the window cannot hold.
std::vector<std::string> SenseRuleProblems(const v1::Term& term, const v1::SenseRule& rule) {
  std::vector<std::string> problems;
  if (absl::Status status = CheckSenseRule(rule); !status.ok()) {
    problems.emplace_back(status.message());
    return problems;
  }
  const bool is_veto = !rule.veto().empty();
  const auto& words = is_veto ? rule.veto() : rule.require();
  const char* kind = is_veto ? "veto" : "require";
  // The match lies inside its own near/sentence/article scope, so a context word that the term's
  // own text contains is always found there.
  const bool scope_holds_match = rule.scope() != v1::SENSE_SCOPE_TITLE;
  const std::string own_text = absl::AsciiStrToLower(term.text());
  const int window = rule.window() > 0 ? rule.window() : 40;
  absl::flat_hash_map<std::string, int> seen;
  for (const std::string& written : words) {
    const std::string word(absl::StripAsciiWhitespace(written));
    if (word.empty()) {
      problems.push_back(absl::StrCat("a blank ", kind, " word never matches"));
      continue;
    }
    if (!seen.emplace(absl::AsciiStrToLower(word), 0).second) {
      problems.push_back(absl::StrCat(kind, " word \"", absl::CEscape(word), "\" is listed twice"));
    }
    if (scope_holds_match && !own_text.empty() &&
        absl::StrContains(own_text, absl::AsciiStrToLower(word))) {
      problems.push_back(is_veto
                             ? absl::StrCat("the veto always fires: the term itself contains \"",
                                            absl::CEscape(word), "\"")
                             : absl::StrCat("the rule never drops a match: the term itself "
                                            "contains the required \"",
                                            absl::CEscape(word), "\""));
    }
    // Counting code points: a word longer than both sides of the window and the match together
    // can never be found near it.
    size_t code_points = 0;
    for (char c : word) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    const size_t term_points = term.text().empty() ? 1 : term.text().size();
    if (rule.scope() == v1::SENSE_SCOPE_NEAR &&
        code_points > 2 * static_cast<size_t>(window) + term_points) {
      problems.push_back(absl::StrCat(kind, " word \"", absl::CEscape(word),
                                      "\" is longer than the window (", window,
                                      " characters each side) can hold: it can never be found"));
    }
  }
  return problems;
}

}  // namespace

std::string LintProblem::ToString() const {
  std::string out = absl::StrCat(source_name, ":", line, ": ");
  if (!topic.empty()) absl::StrAppend(&out, "topic \"", absl::CEscape(topic), "\": ");
  if (!term.empty()) absl::StrAppend(&out, "term \"", absl::CEscape(term), "\": ");
  absl::StrAppend(&out, message);
  return out;
}

std::vector<LintProblem> LintTaxonomy(const std::string& text, const std::string& source_name) {
  std::vector<LintProblem> problems;
  ProblemCollector collector(source_name, problems);
  v1::Taxonomy taxonomy;
  TextFormat::ParseInfoTree info;
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(&info);
  // Unknown fields become warnings (each one reported) instead of stopping the parse.
  parser.AllowUnknownField(true);
  if (!parser.ParseFromString(text, &taxonomy)) return problems;  // a syntax error: no tree

  auto add = [&](int line, const std::string& topic, const std::string& term, std::string message) {
    problems.push_back(LintProblem{.source_name = source_name,
                                   .line = line,
                                   .topic = topic,
                                   .term = term,
                                   .message = std::move(message)});
  };
  if (taxonomy.version().empty()) {
    add(0, "", "", "no `version`: tags could not be traced to this taxonomy");
  }
  if (taxonomy.title_weight() < 0) add(0, "", "", "title_weight must not be negative");
  if (taxonomy.default_threshold() < 0) add(0, "", "", "default_threshold must not be negative");
  if (taxonomy.topics().empty()) add(0, "", "", "the taxonomy has no topics");

  const auto* topics_field = v1::Taxonomy::descriptor()->FindFieldByName("topics");
  const auto* terms_field = v1::Topic::descriptor()->FindFieldByName("terms");
  const auto* exclusions_field = v1::Topic::descriptor()->FindFieldByName("exclusions");
  absl::flat_hash_map<std::string, int> topic_lines;
  for (int t = 0; t < taxonomy.topics_size(); ++t) {
    const v1::Topic& topic = taxonomy.topics(t);
    const int topic_line = info.GetLocation(topics_field, t).line + 1;
    const std::string& id = topic.id();
    if (!IsValidTopicId(id)) {
      add(topic_line, id, "", "the id must be 1 to 64 lower-case letters, digits or '_'");
    } else if (id == "untagged") {
      add(topic_line, id, "", "\"untagged\" is reserved for the stream of untagged articles");
    }
    if (auto [it, inserted] = topic_lines.emplace(id, topic_line); !inserted) {
      add(topic_line, id, "", absl::StrCat("duplicate topic id (first on line ", it->second, ")"));
    }
    if (topic.label_en().empty()) add(topic_line, id, "", "no English label (label_en)");
    if (topic.label_zh().empty()) add(topic_line, id, "", "no Chinese label (label_zh)");
    if (!IsIptcMediaTopic(topic.iptc_parent())) {
      add(topic_line, id, "",
          absl::StrCat("iptc_parent \"", absl::CEscape(topic.iptc_parent()),
                       "\" is not an IPTC Media Topic code (\"medtop:\" and 8 digits)"));
    }
    if (topic.terms().empty()) add(topic_line, id, "", "the topic has no terms");
    if (topic.threshold() < 0) add(topic_line, id, "", "threshold must not be negative");
    if (absl::Status status = CheckAboutness(topic.aboutness()); !status.ok()) {
      add(topic_line, id, "", std::string(status.message()));
    }

    TextFormat::ParseInfoTree* topic_info = info.GetTreeForNested(topics_field, t);
    absl::flat_hash_map<std::string, int> seen_terms;  // key -> first line
    for (const bool is_exclusion : {false, true}) {
      const auto& terms = is_exclusion ? topic.exclusions() : topic.terms();
      const auto* field = is_exclusion ? exclusions_field : terms_field;
      for (int i = 0; i < terms.size(); ++i) {
        const v1::Term& term = terms[i];
        const int line =
            topic_info == nullptr ? topic_line : topic_info->GetLocation(field, i).line + 1;
        const bool has_text = !absl::StripAsciiWhitespace(term.text()).empty();
        const bool has_regex = !term.regex().empty();
        const std::string& written = has_regex ? term.regex() : term.text();
        const std::string kind = is_exclusion ? "exclusion" : "term";
        if (has_text == has_regex) {
          add(line, id, written,
              absl::StrCat("a ", kind, " sets exactly one of `text` and `regex`"));
          continue;
        }
        if (term.weight() < 0) add(line, id, written, "weight must not be negative");
        if (auto [it, inserted] = seen_terms.emplace(DuplicateKey(term), line); !inserted) {
          add(line, id, written,
              absl::StrCat("duplicate ", kind, " (first on line ", it->second, ")"));
        }
        if (is_exclusion && !term.senses().empty()) {
          add(line, id, written, "an exclusion takes no sense rules (give them to the term)");
        }
        for (int r = 0; r < term.senses_size(); ++r) {
          for (std::string& message : SenseRuleProblems(term, term.senses(r))) {
            add(line, id, written, absl::StrCat("sense rule ", r + 1, ": ", message));
          }
        }
        for (const PatternSpec& pattern : TermPatterns(term, t, i, is_exclusion)) {
          if (const std::string error = CompileError(pattern); !error.empty()) {
            add(line, id, written,
                absl::StrCat("Vectorscan cannot compile /", pattern.expression, "/: ", error));
            break;  // the variants of one term fail alike
          }
        }
      }
    }
  }
  for (int t = 0; t < taxonomy.topics_size(); ++t) {
    const v1::Topic& topic = taxonomy.topics(t);
    const int topic_line = info.GetLocation(topics_field, t).line + 1;
    absl::flat_hash_map<std::string, int> seen_yields;
    for (const v1::Yield& yield : topic.yields_to()) {
      const std::string where = absl::StrCat("yields_to \"", absl::CEscape(yield.topic()), "\": ");
      if (yield.topic() == topic.id()) {
        add(topic_line, topic.id(), "", absl::StrCat(where, "a topic cannot yield to itself"));
      } else if (!topic_lines.contains(yield.topic())) {
        add(topic_line, topic.id(), "", absl::StrCat(where, "no topic has this id"));
      }
      if (!seen_yields.emplace(yield.topic(), 0).second) {
        add(topic_line, topic.id(), "", absl::StrCat(where, "named twice"));
      }
      if (!(yield.below_ratio() >= 0) || !std::isfinite(yield.below_ratio())) {
        add(topic_line, topic.id(), "",
            absl::StrCat(where, "below_ratio must be finite and not negative"));
      } else if (yield.below_ratio() == 0 && !yield.by_sentence()) {
        add(topic_line, topic.id(), "",
            absl::StrCat(where, "never gives way: set below_ratio, by_sentence or both"));
      }
    }
  }
  if (absl::Status status = CheckAboutness(taxonomy.default_aboutness()); !status.ok()) {
    add(0, "", "", absl::StrCat("default_aboutness: ", status.message()));
  }
  return problems;
}

absl::StatusOr<std::vector<LintProblem>> LintTaxonomyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read taxonomy file ", path));
  std::stringstream content;
  content << in.rdbuf();
  return LintTaxonomy(content.str(), path);
}

}  // namespace topicwire::classify
