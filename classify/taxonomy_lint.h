// Taxonomy lint: finds every problem in a taxonomy file at once (ParseTaxonomy stops at the
// first), each with the file, the line and the term, so an editor can fix them in one pass.
#ifndef TOPICWIRE_CLASSIFY_TAXONOMY_LINT_H_
#define TOPICWIRE_CLASSIFY_TAXONOMY_LINT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace topicwire::classify {

struct LintProblem {
  std::string source_name;
  int line = 0;  // 1-based; 0 when the problem concerns the whole file
  std::string topic{};
  std::string term{};  // the term's text or regex as written; empty for topic/file problems
  std::string message{};

  // "file:12: topic "ai": term "AI": message".
  std::string ToString() const;
};

// Every problem in `text`: syntax errors (parsing stops at the first one), unknown fields (all of
// them), bad or duplicate topic ids, a topic without terms or without both labels (English and
// Chinese) or without an IPTC parent ("medtop:" and 8 digits), a term with neither or both of
// text and regex, duplicate terms within a topic, negative weights or thresholds, and each
// pattern Vectorscan cannot compile; sense rules that are malformed (no words, both require and
// veto, a bad window or scope), that always fire or never fire (a veto word the term itself
// contains, a word the window cannot hold, a blank word), or that sit on an exclusion; yields_to
// naming an unknown topic, the topic itself or a topic twice, or that never gives way; negative
// aboutness settings. Empty when the taxonomy is clean.
std::vector<LintProblem> LintTaxonomy(const std::string& text, const std::string& source_name);

// Reads `path` and lints it; kNotFound when the file cannot be read.
absl::StatusOr<std::vector<LintProblem>> LintTaxonomyFile(const std::string& path);

}  // namespace topicwire::classify

#endif  // TOPICWIRE_CLASSIFY_TAXONOMY_LINT_H_
