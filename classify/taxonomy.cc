#include "classify/taxonomy.h"

#include <hs/hs.h>

#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/text_format.h"
#include "spdlog/spdlog.h"

#ifdef TOPICWIRE_HAVE_OPENCC
#include <opencc.h>
#endif

namespace topicwire::classify {
namespace {

using google::protobuf::TextFormat;

// Collects every parser error with its (1-based) line and column.
class CollectingErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors_.push_back(absl::StrFormat("line %d, column %d: %s", line + 1, column + 1, message));
    if (first_line_ == 0) first_line_ = line + 1;
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }
  const std::vector<std::string>& errors() const { return errors_; }
  int first_line() const { return first_line_; }

 private:
  std::vector<std::string> errors_;
  int first_line_ = 0;
};

// Dashes that join the words of an English phrase: ASCII hyphen, and U+2010..U+2014 (hyphen,
// non-breaking hyphen, figure dash, en dash, em dash) as UTF-8 bytes.
constexpr char kWordSeparator[] = R"((?:[\s\-]|\xE2\x80[\x90-\x94])+)";

bool IsWordChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Escapes `literal` so that every byte matches itself: alphanumerics as they are, everything
// else as \xHH (safe for regex metacharacters and for UTF-8 bytes alike).
std::string EscapeLiteral(absl::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "\\x%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

bool IsVowel(char c) { return absl::StrContains("aeiou", absl::ascii_tolower(c)); }

// The last word of an English phrase with its regular plural forms: chip(s), box(es),
// technolog(y|ies). Words ending in a non-letter are left alone.
std::string WithPlural(absl::string_view word) {
  if (word.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(word.back()))) {
    return EscapeLiteral(word);
  }
  if (word.size() >= 2 && absl::ascii_tolower(word.back()) == 'y' &&
      !IsVowel(word[word.size() - 2])) {
    return absl::StrCat(EscapeLiteral(word.substr(0, word.size() - 1)), "(?:y|ies)");
  }
  return absl::StrCat(EscapeLiteral(word), "(?:s|es)?");
}

// Pattern for an English keyword or phrase: whole words, words joined by any run of spaces or
// dashes, plural on the last word.
std::string EnglishPattern(absl::string_view text) {
  std::vector<absl::string_view> words =
      absl::StrSplit(text, absl::ByAnyChar(" \t\n-"), absl::SkipEmpty());
  std::vector<std::string> parts;
  for (size_t i = 0; i < words.size(); ++i) {
    parts.push_back(i + 1 == words.size() ? WithPlural(words[i]) : EscapeLiteral(words[i]));
  }
  std::string pattern = absl::StrJoin(parts, kWordSeparator);
  if (IsWordChar(text.front())) pattern = absl::StrCat("\\b", pattern);
  if (IsWordChar(text.back())) absl::StrAppend(&pattern, "\\b");
  return pattern;
}

// Appends the patterns implementing `term` (see proto/taxonomy.proto).
void AppendTermPatterns(const v1::Term& term, int topic_index, int term_index, bool is_exclusion,
                        std::vector<PatternSpec>& patterns) {
  auto add = [&](std::string expression, unsigned flags) {
    patterns.push_back(PatternSpec{.expression = std::move(expression),
                                   .flags = flags | HS_FLAG_SOM_LEFTMOST,
                                   .topic_index = topic_index,
                                   .term_index = term_index,
                                   .is_exclusion = is_exclusion});
  };
  if (!term.regex().empty()) {
    // The input is valid UTF-8 (protobuf strings are checked), so UTF-8 mode is safe; UCP stays
    // off so that \b and \w keep their ASCII meaning in mixed Chinese/English text.
    add(term.regex(), HS_FLAG_UTF8);
    return;
  }
  const std::string text(absl::StripAsciiWhitespace(term.text()));
  const unsigned caseless = term.case_sensitive() ? 0 : HS_FLAG_CASELESS;
  if (ContainsCjk(text)) {
    // Chinese has no word boundaries: a substring match, in every script variant.
    add(EscapeLiteral(text), caseless);
    for (const std::string& variant : TraditionalVariants(text)) {
      add(EscapeLiteral(variant), caseless);
    }
  } else if (IsAcronym(text)) {
    // "AI", "LLMs": as written, a whole word, with an optional plural "s".
    std::string pattern = absl::StrCat(EscapeLiteral(text), "s?");
    if (IsWordChar(text.front())) pattern = absl::StrCat("\\b", pattern);
    add(absl::StrCat(pattern, "\\b"), 0);
  } else {
    add(EnglishPattern(text), caseless);
  }
}

std::string Quote(absl::string_view s) { return absl::StrCat("\"", absl::CEscape(s), "\""); }

bool IsValidTopicId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status CheckSenseRule(const v1::SenseRule& rule) {
  auto has_word = [](const google::protobuf::RepeatedPtrField<std::string>& words) {
    for (const std::string& word : words) {
      if (!absl::StripAsciiWhitespace(word).empty()) return true;
    }
    return false;
  };
  const bool requires_context = has_word(rule.require());
  const bool vetoes = has_word(rule.veto());
  if (requires_context == vetoes) {
    return absl::InvalidArgumentError(
        "set words in exactly one of `require` and `veto` (blank words do not count)");
  }
  if (rule.window() < 0) return absl::InvalidArgumentError("window must not be negative");
  if (!v1::SenseScope_IsValid(rule.scope())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown scope ", rule.scope()));
  }
  if (rule.window() > 0 && rule.scope() != v1::SENSE_SCOPE_NEAR) {
    return absl::InvalidArgumentError("window applies only to SENSE_SCOPE_NEAR");
  }
  return absl::OkStatus();
}

absl::Status CheckAboutness(const v1::Aboutness& aboutness) {
  if (aboutness.min_distinct_terms() < 0 || aboutness.min_sentences() < 0 ||
      aboutness.lead_chars() < 0 || !(aboutness.min_score() >= 0) ||
      !std::isfinite(aboutness.min_score())) {
    return absl::InvalidArgumentError(
        "aboutness: min_distinct_terms, min_sentences, lead_chars and min_score must be finite "
        "and not negative");
  }
  return absl::OkStatus();
}

std::vector<PatternSpec> TermPatterns(const v1::Term& term, int topic_index, int term_index,
                                      bool is_exclusion) {
  std::vector<PatternSpec> patterns;
  AppendTermPatterns(term, topic_index, term_index, is_exclusion, patterns);
  return patterns;
}

bool IsAcronym(const std::string& text) {
  bool has_capital = false;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || absl::ascii_islower(u) || absl::ascii_isspace(u)) return false;
    if (absl::ascii_isupper(u)) has_capital = true;
  }
  return has_capital;
}

bool ContainsCjk(const std::string& text) {
  // Decodes just enough UTF-8 to find code points in the CJK blocks (U+2E80..U+9FFF, U+F900..
  // U+FAFF, U+20000..).
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    uint32_t code_point = lead;
    size_t length = 1;
    if (lead >= 0xF0) {
      length = 4;
      code_point = lead & 0x07;
    } else if (lead >= 0xE0) {
      length = 3;
      code_point = lead & 0x0F;
    } else if (lead >= 0xC0) {
      length = 2;
      code_point = lead & 0x1F;
    }
    for (size_t k = 1; k < length && i + k < text.size(); ++k) {
      code_point = (code_point << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    if ((code_point >= 0x2E80 && code_point <= 0x9FFF) ||
        (code_point >= 0xF900 && code_point <= 0xFAFF) || code_point >= 0x20000) {
      return true;
    }
    i += length;
  }
  return false;
}

std::vector<std::string> TraditionalVariants(const std::string& text) {
  std::vector<std::string> variants;
#ifdef TOPICWIRE_HAVE_OPENCC
  // Generic traditional, Taiwan (characters and Taiwan phrases: 芯片 -> 晶片) and Hong Kong.
  // OpenCC handles are opened once; the mutex serializes use because OpenCC does not document
  // its converters as thread-safe.
  static std::mutex mutex;
  static std::vector<opencc_t>* converters = [] {
    auto* opened = new std::vector<opencc_t>;
    for (const char* config : {"s2t.json", "s2tw.json", "s2twp.json", "s2hk.json"}) {
      opencc_t handle = opencc_open(config);
      if (handle != reinterpret_cast<opencc_t>(-1)) {
        opened->push_back(handle);
      } else {
        // Still usable, but traditional-script articles will miss simplified-only terms.
        spdlog::warn(
            "OpenCC cannot open {} ({}): no traditional variants from it (is "
            "libopencc-data installed?)",
            config, opencc_error());
      }
    }
    return opened;
  }();
  // OpenCC 1.1.6 reads past its own buffer on invalid UTF-8 (found by taxonomy_fuzzer).
  if (!google::protobuf::internal::IsStructurallyValidUTF8(text.data(),
                                                           static_cast<int>(text.size()))) {
    return variants;
  }
  std::lock_guard<std::mutex> lock(mutex);
  absl::flat_hash_set<std::string> seen = {text};
  for (opencc_t converter : *converters) {
    char* converted = opencc_convert_utf8(converter, text.data(), text.size());
    if (converted == nullptr) continue;
    std::string variant(converted);
    opencc_convert_utf8_free(converted);
    if (seen.insert(variant).second) variants.push_back(std::move(variant));
  }
#else
  (void)text;
#endif
  return variants;
}

std::string TaxonomySpec::Describe(const PatternSpec& pattern) const {
  const v1::Topic& topic = taxonomy.topics(pattern.topic_index);
  const v1::Term& term =
      pattern.is_exclusion ? topic.exclusions(pattern.term_index) : topic.terms(pattern.term_index);
  const int line = pattern.is_exclusion ? exclusion_lines[pattern.topic_index][pattern.term_index]
                                        : term_lines[pattern.topic_index][pattern.term_index];
  return absl::StrCat(source_name, ":", line, ": topic ", Quote(topic.id()), ": ",
                      pattern.is_exclusion ? "exclusion" : "term", " ",
                      term.regex().empty() ? "" : "regex ",
                      Quote(term.regex().empty() ? term.text() : term.regex()));
}

absl::StatusOr<TaxonomySpec> ParseTaxonomy(const std::string& text,
                                           const std::string& source_name) {
  TaxonomySpec spec;
  spec.source_name = source_name;
  CollectingErrorCollector errors;
  TextFormat::ParseInfoTree info;
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&info);
  if (!parser.ParseFromString(text, &spec.taxonomy)) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ":", errors.first_line(),
                                                   ": not a valid taxonomy (",
                                                   absl::StrJoin(errors.errors(), "; "), ")"));
  }

  const auto* taxonomy_descriptor = v1::Taxonomy::descriptor();
  const auto* topics_field = taxonomy_descriptor->FindFieldByName("topics");
  const auto* terms_field = v1::Topic::descriptor()->FindFieldByName("terms");
  const auto* exclusions_field = v1::Topic::descriptor()->FindFieldByName("exclusions");

  // `!(x >= 0)` also refuses NaN, which would compare false with every threshold.
  if (!(spec.taxonomy.title_weight() >= 0) || !std::isfinite(spec.taxonomy.title_weight()) ||
      !(spec.taxonomy.default_threshold() >= 0) ||
      !std::isfinite(spec.taxonomy.default_threshold())) {
    return absl::InvalidArgumentError(absl::StrCat(
        source_name, ": title_weight and default_threshold must be finite and not negative"));
  }
  if (absl::Status status = CheckAboutness(spec.taxonomy.default_aboutness()); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": default_aboutness: ", status.message()));
  }
  if (spec.taxonomy.topics().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": the taxonomy has no topics"));
  }
  absl::flat_hash_set<std::string> ids;
  for (int t = 0; t < spec.taxonomy.topics_size(); ++t) {
    const v1::Topic& topic = spec.taxonomy.topics(t);
    const int topic_line = info.GetLocation(topics_field, t).line + 1;
    const std::string where =
        absl::StrCat(source_name, ":", topic_line, ": topic ", Quote(topic.id()), ": ");
    if (!IsValidTopicId(topic.id())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "the id must be 1 to 64 lower-case letters, digits or '_'"));
    }
    if (topic.id() == "untagged") {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "\"untagged\" is reserved for the stream of untagged articles"));
    }
    if (!ids.insert(topic.id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, "duplicate topic id"));
    }
    if (topic.terms().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "the topic has no terms"));
    }
    if (!(topic.threshold() >= 0) || !std::isfinite(topic.threshold())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "threshold must be finite and not negative"));
    }
    if (absl::Status status = CheckAboutness(topic.aboutness()); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, status.message()));
    }
    TextFormat::ParseInfoTree* topic_info = info.GetTreeForNested(topics_field, t);
    spec.term_lines.emplace_back();
    spec.exclusion_lines.emplace_back();
    for (const bool is_exclusion : {false, true}) {
      const auto& terms = is_exclusion ? topic.exclusions() : topic.terms();
      const auto* field = is_exclusion ? exclusions_field : terms_field;
      std::vector<int>& lines = is_exclusion ? spec.exclusion_lines.back() : spec.term_lines.back();
      for (int i = 0; i < terms.size(); ++i) {
        const v1::Term& term = terms[i];
        const int line = topic_info == nullptr ? 0 : topic_info->GetLocation(field, i).line + 1;
        lines.push_back(line);
        const std::string term_where =
            absl::StrCat(source_name, ":", line, ": topic ", Quote(topic.id()), ": ",
                         is_exclusion ? "exclusion" : "term", " ");
        const bool has_text = !absl::StripAsciiWhitespace(term.text()).empty();
        const bool has_regex = !term.regex().empty();
        if (has_text == has_regex) {
          return absl::InvalidArgumentError(
              absl::StrCat(term_where, Quote(has_text ? term.text() : term.regex()),
                           ": set exactly one of `text` and `regex`"));
        }
        if (!(term.weight() >= 0) || !std::isfinite(term.weight())) {
          return absl::InvalidArgumentError(
              absl::StrCat(term_where, Quote(has_text ? term.text() : term.regex()),
                           ": weight must be finite and not negative"));
        }
        if (is_exclusion && !term.senses().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(term_where, Quote(has_text ? term.text() : term.regex()),
                           ": an exclusion takes no sense rules (give them to the term)"));
        }
        for (const v1::SenseRule& rule : term.senses()) {
          if (absl::Status status = CheckSenseRule(rule); !status.ok()) {
            return absl::InvalidArgumentError(
                absl::StrCat(term_where, Quote(has_text ? term.text() : term.regex()),
                             ": sense rule: ", status.message()));
          }
        }
        AppendTermPatterns(term, t, i, is_exclusion, spec.patterns);
      }
    }
  }
  for (int t = 0; t < spec.taxonomy.topics_size(); ++t) {
    const v1::Topic& topic = spec.taxonomy.topics(t);
    for (const v1::Yield& yield : topic.yields_to()) {
      if (!ids.contains(yield.topic()) || yield.topic() == topic.id()) {
        return absl::InvalidArgumentError(
            absl::StrCat(source_name, ":", info.GetLocation(topics_field, t).line + 1, ": topic ",
                         Quote(topic.id()), ": yields_to ", Quote(yield.topic()),
                         yield.topic() == topic.id() ? ": a topic cannot yield to itself"
                                                     : ": no topic has this id"));
      }
      if (!(yield.below_ratio() >= 0) || !std::isfinite(yield.below_ratio())) {
        return absl::InvalidArgumentError(
            absl::StrCat(source_name, ": topic ", Quote(topic.id()), ": yields_to ",
                         Quote(yield.topic()), ": below_ratio must be finite and not negative"));
      }
    }
  }
  return spec;
}

absl::StatusOr<TaxonomySpec> LoadTaxonomyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read taxonomy file ", path));
  }
  std::stringstream content;
  content << in.rdbuf();
  return ParseTaxonomy(content.str(), path);
}

}  // namespace topicwire::classify
