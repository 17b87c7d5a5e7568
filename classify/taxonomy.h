// Taxonomy loading: parses a `topicwire.v1.Taxonomy` text-format file, validates it, and expands
// every term and exclusion into the Vectorscan patterns that implement the matching semantics
// documented in proto/taxonomy.proto. Errors name the file, the line and the term.
#ifndef TOPICWIRE_CLASSIFY_TAXONOMY_H_
#define TOPICWIRE_CLASSIFY_TAXONOMY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/taxonomy.pb.h"

namespace topicwire::classify {

// One Vectorscan expression generated from one taxonomy term. A term may yield several patterns
// (a Chinese term and its traditional-script variants); all of them map back to the same term.
struct PatternSpec {
  std::string expression;  // Vectorscan/PCRE syntax
  unsigned flags = 0;      // HS_FLAG_* (always includes HS_FLAG_SOM_LEFTMOST)
  int topic_index = 0;     // into Taxonomy.topics
  int term_index = 0;      // into Topic.terms, or Topic.exclusions when is_exclusion
  bool is_exclusion = false;
};

// A parsed, validated taxonomy with everything needed to compile it and to explain errors.
struct TaxonomySpec {
  v1::Taxonomy taxonomy;
  // The name used in error messages (usually the file's path).
  std::string source_name;
  // Every pattern to compile, in a stable order; a pattern's index is its Vectorscan id.
  std::vector<PatternSpec> patterns;
  // Line (1-based) of each term, indexed [topic][term]; same for exclusions. 0 when unknown.
  std::vector<std::vector<int>> term_lines;
  std::vector<std::vector<int>> exclusion_lines;

  // "default.textproto:42: topic "quantum": term "quantum computing"" for the pattern's term.
  std::string Describe(const PatternSpec& pattern) const;
};

// Parses and validates `text`. `source_name` names the input in error messages. Fails with
// kInvalidArgument naming source, line and term when the text does not parse (syntax, unknown
// field), or a topic is invalid (bad or duplicate id, no terms, a term with neither or both of
// text and regex, negative weight or threshold). Regexes are checked when compiled
// (see Classifier).
absl::StatusOr<TaxonomySpec> ParseTaxonomy(const std::string& text, const std::string& source_name);

// Reads `path` and parses it as above; the path is the source name.
absl::StatusOr<TaxonomySpec> LoadTaxonomyFile(const std::string& path);

// The Vectorscan patterns implementing one term (see proto/taxonomy.proto), for checking a term
// on its own (taxonomy lint). `term` must set exactly one of text and regex.
std::vector<PatternSpec> TermPatterns(const v1::Term& term, int topic_index, int term_index,
                                      bool is_exclusion);

// OK when a sense rule is well formed: words in exactly one of require and veto, a known scope,
// a window only for SENSE_SCOPE_NEAR and not negative. The message says what to fix.
absl::Status CheckSenseRule(const v1::SenseRule& rule);

// OK when no field of `aboutness` is negative.
absl::Status CheckAboutness(const v1::Aboutness& aboutness);

// True when `text` is an acronym in the sense of proto/taxonomy.proto: ASCII only, at least one
// capital letter and no lower-case letter ("AI", "6G", "LLM").
bool IsAcronym(const std::string& text);

// True when `text` contains CJK characters (matched as substrings, without word boundaries).
bool ContainsCjk(const std::string& text);

// The traditional-script spellings of a simplified Chinese term (generic, Taiwan and Hong Kong
// usage), without duplicates and without `text` itself. Empty when OpenCC is unavailable.
std::vector<std::string> TraditionalVariants(const std::string& text);

}  // namespace topicwire::classify

#endif  // TOPICWIRE_CLASSIFY_TAXONOMY_H_
