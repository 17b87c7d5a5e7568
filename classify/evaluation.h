// Evaluation: measures a Classifier against labelled articles (per-topic precision, recall and
// F1, micro and macro averages, split by language) and lists its mistakes with their evidence.
#ifndef TOPICWIRE_CLASSIFY_EVALUATION_H_
#define TOPICWIRE_CLASSIFY_EVALUATION_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "classify/classifier.h"
#include "proto/article.pb.h"

namespace topicwire::classify {

// One article with the topics a person (or a trusted source) says it has.
struct LabelledArticle {
  v1::Article article;
  std::vector<std::string> labels;  // topic ids; empty = none of the taxonomy's topics
  std::string lang;                 // "en", "zh", ...; groups the by-language figures
};

// Counts and scores for one topic (or one average).
struct TopicScores {
  int true_positives = 0;
  int false_positives = 0;
  int false_negatives = 0;
  double precision = 0;  // 1 when nothing was predicted (no false claims)
  double recall = 0;     // 1 when nothing was expected
  double f1 = 0;
};

// A topic given but not expected (false positive) or expected but not given (false negative).
struct Mistake {
  std::string article_id;
  std::string lang;
  std::string topic;
  bool false_positive = false;
  // For a false positive: the tag with its evidence. For a false negative: the topic's partial
  // score and evidence below the threshold, if any.
  v1::Tag tag;
  std::string title;
};

// The figures for one set of articles.
struct EvaluationScores {
  int articles = 0;
  std::map<std::string, TopicScores> per_topic;  // every taxonomy topic
  TopicScores micro;                             // pooled over all topics
  double macro_f1 = 0;  // mean F1 over topics that occur in the labels or the predictions
};

struct EvaluationReport {
  EvaluationScores overall;
  std::map<std::string, EvaluationScores> by_lang;
  std::vector<Mistake> mistakes;

  // A human-readable table of the figures, then the mistakes (at most `max_mistakes`).
  std::string ToString(int max_mistakes = 50) const;
};

// Tags every article with `classifier` and compares with its labels. Labels naming topics that
// the taxonomy does not have count as false negatives under that name.
EvaluationReport Evaluate(const Classifier& classifier,
                          const std::vector<LabelledArticle>& articles);

// One point of a threshold sweep: a topic's figures if its threshold were `threshold`.
struct SweepPoint {
  std::string topic;
  double threshold = 0;
  bool is_current = false;  // the taxonomy's threshold for the topic
  bool gate = true;         // false: the aboutness gate switched off for this point
  TopicScores scores{};
};

// For every topic, precision, recall and F1 at its threshold times each of `factors`, and once at
// its threshold without the aboutness gate, so that a threshold or gate change can be judged
// before it is made. Sense rules apply as configured; topic conventions as decided at the
// taxonomy's thresholds.
std::vector<SweepPoint> SweepThresholds(const Classifier& classifier,
                                        const std::vector<LabelledArticle>& articles,
                                        const std::vector<double>& factors = {0.5, 0.75, 1, 1.25,
                                                                              1.5, 2, 3});

// A table of the points, one line each, grouped by topic.
std::string SweepToString(const std::vector<SweepPoint>& points);

// Reads a JSON-lines file where each line is an Article in protobuf JSON mapping plus "labels"
// (array of topic ids) and "lang"; unknown fields are ignored. Fails naming the file and line on
// malformed input.
absl::StatusOr<std::vector<LabelledArticle>> ReadLabelledJsonl(const std::string& path);

}  // namespace topicwire::classify

#endif  // TOPICWIRE_CLASSIFY_EVALUATION_H_
