// Golden cases for a taxonomy (`topicwire taxonomy test`): articles with the tags they must get
// and the tags they must not get, so a taxonomy edit that breaks a known case fails loudly.
#ifndef TOPICWIRE_CLASSIFY_GOLDEN_H_
#define TOPICWIRE_CLASSIFY_GOLDEN_H_

#include <string>
#include <vector>

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

// Tags every case with `classifier` and compares.
GoldenResult RunGoldenCases(const Classifier& classifier, const std::vector<GoldenCase>& cases);

}  // namespace topicwire::classify

#endif  // TOPICWIRE_CLASSIFY_GOLDEN_H_
