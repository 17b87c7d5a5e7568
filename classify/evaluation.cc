#include "classify/evaluation.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace topicwire::classify {
namespace {

void Finish(TopicScores& scores) {
  const int predicted = scores.true_positives + scores.false_positives;
  const int expected = scores.true_positives + scores.false_negatives;
  scores.precision = predicted == 0 ? 1.0 : static_cast<double>(scores.true_positives) / predicted;
  scores.recall = expected == 0 ? 1.0 : static_cast<double>(scores.true_positives) / expected;
  scores.f1 = scores.precision + scores.recall == 0
                  ? 0.0
                  : 2 * scores.precision * scores.recall / (scores.precision + scores.recall);
}

void FinishAll(EvaluationScores& scores) {
  double f1_sum = 0;
  int counted = 0;
  for (auto& [topic, topic_scores] : scores.per_topic) {
    Finish(topic_scores);
    scores.micro.true_positives += topic_scores.true_positives;
    scores.micro.false_positives += topic_scores.false_positives;
    scores.micro.false_negatives += topic_scores.false_negatives;
    if (topic_scores.true_positives + topic_scores.false_positives + topic_scores.false_negatives >
        0) {
      f1_sum += topic_scores.f1;
      ++counted;
    }
  }
  Finish(scores.micro);
  scores.macro_f1 = counted == 0 ? 1.0 : f1_sum / counted;
}

void AppendScores(std::string& out, const std::string& heading, const EvaluationScores& scores) {
  absl::StrAppendFormat(&out, "%s: %d articles, micro P=%.3f R=%.3f F1=%.3f, macro F1=%.3f\n",
                        heading, scores.articles, scores.micro.precision, scores.micro.recall,
                        scores.micro.f1, scores.macro_f1);
  absl::StrAppendFormat(&out, "  %-16s %5s %5s %5s %7s %7s %7s\n", "topic", "tp", "fp", "fn",
                        "prec", "recall", "f1");
  for (const auto& [topic, s] : scores.per_topic) {
    if (s.true_positives + s.false_positives + s.false_negatives == 0) continue;
    absl::StrAppendFormat(&out, "  %-16s %5d %5d %5d %7.3f %7.3f %7.3f\n", topic, s.true_positives,
                          s.false_positives, s.false_negatives, s.precision, s.recall, s.f1);
  }
}

// At most `max_bytes` of `text`, cut at a UTF-8 character boundary.
std::string Truncate(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

// "[body quantum "Quantum" +1.00] ..." for a report line.
std::string EvidenceSummary(const v1::Tag& tag) {
  std::string out;
  if (tag.evidence().empty()) return out;
  absl::StrAppendFormat(&out, " score %.2f/%.2f:", tag.score(), tag.threshold());
  for (const v1::Evidence& evidence : tag.evidence()) {
    absl::StrAppendFormat(&out, " [%s %s \"%s\" +%.2f]",
                          evidence.field() == v1::TEXT_FIELD_TITLE ? "title" : "body",
                          evidence.term(), evidence.matched_text(), evidence.contribution());
  }
  return out;
}

}  // namespace

EvaluationReport Evaluate(const Classifier& classifier,
                          const std::vector<LabelledArticle>& articles) {
  EvaluationReport report;
  auto topic_names = [&] {
    std::set<std::string> names;
    for (const v1::Topic& topic : classifier.taxonomy().topics()) names.insert(topic.id());
    return names;
  }();
  auto init = [&](EvaluationScores& scores) {
    if (scores.per_topic.empty()) {
      for (const std::string& name : topic_names) scores.per_topic[name];
    }
  };
  init(report.overall);
  for (const LabelledArticle& labelled : articles) {
    const v1::TaggedArticle tagged = classifier.Tag(labelled.article);
    std::set<std::string> expected(labelled.labels.begin(), labelled.labels.end());
    std::set<std::string> given;
    EvaluationScores& by_lang = report.by_lang[labelled.lang];
    init(by_lang);
    ++report.overall.articles;
    ++by_lang.articles;
    for (const v1::Tag& tag : tagged.tags()) {
      given.insert(tag.topic());
      const bool correct = expected.contains(tag.topic());
      for (EvaluationScores* scores : {&report.overall, &by_lang}) {
        TopicScores& s = scores->per_topic[tag.topic()];
        ++(correct ? s.true_positives : s.false_positives);
      }
      if (!correct) {
        report.mistakes.push_back(Mistake{.article_id = labelled.article.id(),
                                          .lang = labelled.lang,
                                          .topic = tag.topic(),
                                          .false_positive = true,
                                          .tag = tag,
                                          .title = labelled.article.title()});
      }
    }
    std::vector<v1::Tag> below_threshold;  // computed only when something was missed
    for (const std::string& topic : expected) {
      if (given.contains(topic)) continue;
      if (below_threshold.empty()) below_threshold = classifier.ScoreTopics(labelled.article);
      v1::Tag partial;
      for (const v1::Tag& scored : below_threshold) {
        if (scored.topic() == topic) partial = scored;
      }
      for (EvaluationScores* scores : {&report.overall, &by_lang}) {
        ++scores->per_topic[topic].false_negatives;
      }
      report.mistakes.push_back(Mistake{.article_id = labelled.article.id(),
                                        .lang = labelled.lang,
                                        .topic = topic,
                                        .false_positive = false,
                                        .tag = partial,
                                        .title = labelled.article.title()});
    }
  }
  FinishAll(report.overall);
  for (auto& [lang, scores] : report.by_lang) FinishAll(scores);
  return report;
}

std::vector<SweepPoint> SweepThresholds(const Classifier& classifier,
                                        const std::vector<LabelledArticle>& articles,
                                        const std::vector<double>& factors) {
  // One Explain() per article; every point is then a count over the recorded decisions.
  struct Seen {
    double score = 0;
    bool passes_aboutness = true;
    bool yielded = false;
  };
  const v1::Taxonomy& taxonomy = classifier.taxonomy();
  std::vector<std::map<std::string, Seen>> seen(articles.size());
  for (size_t a = 0; a < articles.size(); ++a) {
    for (const Classifier::TopicDecision& decision : classifier.Explain(articles[a].article)) {
      seen[a][decision.tag.topic()] = Seen{
          .score = decision.tag.score(),
          .passes_aboutness = decision.passes_aboutness,
          .yielded = decision.passes_threshold && decision.passes_aboutness && !decision.tagged};
    }
  }
  std::vector<SweepPoint> points;
  for (const v1::Topic& topic : taxonomy.topics()) {
    const double current = topic.threshold() > 0              ? topic.threshold()
                           : taxonomy.default_threshold() > 0 ? taxonomy.default_threshold()
                                                              : 1.0;
    std::vector<std::pair<double, bool>> settings;  // (threshold, gate)
    for (double factor : factors) settings.emplace_back(current * factor, true);
    settings.emplace_back(current, false);
    for (const auto& [threshold, gate] : settings) {
      SweepPoint point{.topic = topic.id(),
                       .threshold = threshold,
                       .is_current = std::abs(threshold - current) < 1e-9,
                       .gate = gate};
      for (size_t a = 0; a < articles.size(); ++a) {
        const auto it = seen[a].find(topic.id());
        const bool predicted = it != seen[a].end() && it->second.score + 1e-9 >= threshold &&
                               (!gate || it->second.passes_aboutness) && !it->second.yielded;
        const bool expected = std::find(articles[a].labels.begin(), articles[a].labels.end(),
                                        topic.id()) != articles[a].labels.end();
        if (predicted && expected) ++point.scores.true_positives;
        if (predicted && !expected) ++point.scores.false_positives;
        if (!predicted && expected) ++point.scores.false_negatives;
      }
      Finish(point.scores);
      points.push_back(std::move(point));
    }
  }
  return points;
}

std::string SweepToString(const std::vector<SweepPoint>& points) {
  std::string out =
      "threshold sweep (* = the taxonomy's threshold; \"no gate\" = the aboutness gate off):\n";
  absl::StrAppendFormat(&out, "  %-16s %-9s %9s %5s %5s %5s %7s %7s %7s\n", "topic", "",
                        "threshold", "tp", "fp", "fn", "prec", "recall", "f1");
  for (const SweepPoint& point : points) {
    absl::StrAppendFormat(&out, "  %-16s %-9s %9.2f %5d %5d %5d %7.3f %7.3f %7.3f\n", point.topic,
                          !point.gate        ? "no gate"
                          : point.is_current ? "*"
                                             : "",
                          point.threshold, point.scores.true_positives,
                          point.scores.false_positives, point.scores.false_negatives,
                          point.scores.precision, point.scores.recall, point.scores.f1);
  }
  return out;
}

std::string EvaluationReport::ToString(int max_mistakes) const {
  std::string out;
  AppendScores(out, "overall", overall);
  for (const auto& [lang, scores] : by_lang) AppendScores(out, absl::StrCat("lang=", lang), scores);
  int shown = 0;
  for (const Mistake& mistake : mistakes) {
    if (shown++ >= max_mistakes) {
      absl::StrAppend(&out, "... ", mistakes.size() - max_mistakes, " more mistakes\n");
      break;
    }
    absl::StrAppendFormat(&out, "%s %s %s [%s] %s%s\n", mistake.false_positive ? "FP" : "FN",
                          mistake.topic, mistake.article_id, mistake.lang,
                          Truncate(mistake.title, 80), EvidenceSummary(mistake.tag));
  }
  return out;
}

absl::StatusOr<std::vector<LabelledArticle>> ReadLabelledJsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<LabelledArticle> articles;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    LabelledArticle labelled;
    // The Article fields map directly; "labels" and "lang" are read from the generic Struct.
    if (auto status = google::protobuf::util::JsonStringToMessage(line, &labelled.article, options);
        !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": not an article: ", status.ToString()));
    }
    google::protobuf::Struct fields;
    if (auto status = google::protobuf::util::JsonStringToMessage(line, &fields, options);
        !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": not a JSON object: ", status.ToString()));
    }
    if (auto it = fields.fields().find("labels"); it != fields.fields().end()) {
      if (!it->second.has_list_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", line_number, ": \"labels\" must be an array of topic ids"));
      }
      for (const auto& value : it->second.list_value().values()) {
        labelled.labels.push_back(value.string_value());
      }
    }
    if (auto it = fields.fields().find("lang"); it != fields.fields().end()) {
      labelled.lang = it->second.string_value();
    } else {
      labelled.lang = labelled.article.language();
    }
    articles.push_back(std::move(labelled));
  }
  return articles;
}

}  // namespace topicwire::classify
