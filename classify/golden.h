// Golden cases for a taxonomy (`topicwire taxonomy test`): articles with the tags they must get
// and the tags they must not get, so a taxonomy edit that breaks a known case fails loudly.
#ifndef TOPICWIRE_CLASSIFY_GOLDEN_H_
#define TOPICWIRE_CLASSIFY_GOLDEN_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "classify/classifier.h"
#include "proto/article.pb.h"

namespace topicwire::classify {

// One golden case. In a golden file (JSON Lines) each line is an Article's JSON mapping plus
// "expect" (topic ids the article must be tagged with) and "absent" (topic ids it must not get);
// "name" optionally names the case. Lines that are empty or start with '#' are skipped.
struct GoldenCase {
  std::string source;  // "file:line"
  std::string name;    // "name", else the article id, else the source
  v1::Article article;
  std::vector<std::string> expect;
  std::vector<std::string> absent;
};

// Reads a golden file; kInvalidArgument naming the file and line on a malformed line or a case
// that expects nothing and forbids nothing.
absl::StatusOr<std::vector<GoldenCase>> ReadGoldenFile(const std::string& path);

struct GoldenResult {
  int passed = 0;
  int failed = 0;
  // One block per failed case: the case, the tags wanted and got, a -/+ diff, and the
  // evidence of every unexpected tag.
  std::string diff;
};

// One sense rule (a `senses` entry of a term) or topic convention (a `yields_to` entry) and the
// golden cases that exercised it. Only cases that name the rule's topic in "expect" or "absent"
// count: a case that says nothing about the topic checks nothing about the rule.
struct RuleCoverage {
  bool is_convention = false;
  std::string topic{};   // topic id
  std::string term{};    // sense rule: the term's text or regex
  int index = 0;         // index in Term.senses or Topic.yields_to
  std::string rule{};    // "veto in the sentence: insemination, inseminate, ..." or "yields to bci"
  std::string reason{};  // the rule's `reason`, may be empty
  std::vector<std::string> fired{};  // cases where it dropped a match / the topic gave way
  // Sense rules: cases that expect the topic and where a match of the term still counted (the
  // real sense gets through the rule).
  std::vector<std::string> kept{};
  bool covered() const { return !fired.empty() && (is_convention || !kept.empty()); }
};

// Coverage of a taxonomy's sense rules and conventions by golden cases, gathered over any number
// of golden files.
class GoldenCoverage {
 public:
  // Every sense rule and convention of `taxonomy`, none exercised yet.
  explicit GoldenCoverage(const v1::Taxonomy& taxonomy);
  // Records what the rules did to `golden`'s article (`decisions` from Classifier::Explain).
  void Record(const GoldenCase& golden, const std::vector<Classifier::TopicDecision>& decisions);
  const std::vector<RuleCoverage>& rules() const { return rules_; }
  int covered_count() const;
  // One block per rule not covered, by topic in taxonomy order, with the case to add; empty when
  // every rule is covered.
  std::string UncoveredReport() const;

 private:
  std::vector<RuleCoverage> rules_;
  // [topic][term][sense] and [topic][yield]: index into rules_.
  std::vector<std::vector<std::vector<int>>> sense_rules_;
  std::vector<std::vector<int>> convention_rules_;
  absl::flat_hash_map<std::string, int> topic_index_;
};

// Tags every case with `classifier` and compares. When `coverage` is set, also records which
// sense rules and conventions each case exercised.
GoldenResult RunGoldenCases(const Classifier& classifier, const std::vector<GoldenCase>& cases,
                            GoldenCoverage* coverage = nullptr);

}  // namespace topicwire::classify

#endif  // TOPICWIRE_CLASSIFY_GOLDEN_H_
