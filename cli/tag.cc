#include "cli/tag.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "classify/classifier.h"
#include "classify/evaluation.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace topicwire::cli {
namespace {

google::protobuf::Struct TopicToStruct(const classify::TopicScores& scores) {
  google::protobuf::Struct out;
  auto& fields = *out.mutable_fields();
  fields["true_positives"].set_number_value(scores.true_positives);
  fields["false_positives"].set_number_value(scores.false_positives);
  fields["false_negatives"].set_number_value(scores.false_negatives);
  fields["precision"].set_number_value(scores.precision);
  fields["recall"].set_number_value(scores.recall);
  fields["f1"].set_number_value(scores.f1);
  return out;
}

google::protobuf::Struct ScoresToStruct(const classify::EvaluationScores& scores) {
  google::protobuf::Struct out;
  auto& fields = *out.mutable_fields();
  fields["articles"].set_number_value(scores.articles);
  fields["macro_f1"].set_number_value(scores.macro_f1);
  *fields["micro"].mutable_struct_value() = TopicToStruct(scores.micro);
  auto& per_topic = *fields["per_topic"].mutable_struct_value()->mutable_fields();
  for (const auto& [topic, topic_scores] : scores.per_topic) {
    *per_topic[topic].mutable_struct_value() = TopicToStruct(topic_scores);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<classify::Classifier>> LoadClassifier(const std::string& path) {
  return classify::Classifier::FromFile(path.empty() ? classify::DefaultTaxonomyPath() : path);
}

}  // namespace

absl::Status TagArticles(const std::string& taxonomy_path,
                         const std::vector<SourcedArticle>& articles, OutputFormat format,
                         std::ostream& out) {
  absl::StatusOr<std::unique_ptr<classify::Classifier>> classifier = LoadClassifier(taxonomy_path);
  if (!classifier.ok()) return classifier.status();
  for (const SourcedArticle& article : articles) {
    out << FormatLine((*classifier)->Tag(article.article), format);
  }
  out.flush();
  return absl::OkStatus();
}

absl::StatusOr<int> Evaluate(const EvalOptions& options, const std::vector<std::string>& paths,
                             std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::unique_ptr<classify::Classifier>> classifier =
      LoadClassifier(options.taxonomy_path);
  if (!classifier.ok()) return classifier.status();
  std::vector<classify::LabelledArticle> articles;
  for (const std::string& path : paths) {
    absl::StatusOr<std::vector<classify::LabelledArticle>> read = classify::ReadLabelledJsonl(path);
    if (!read.ok()) return read.status();
    for (classify::LabelledArticle& article : *read) articles.push_back(std::move(article));
  }
  const classify::EvaluationReport report = classify::Evaluate(**classifier, articles);
  if (options.json) {
    google::protobuf::Struct root;
    auto& fields = *root.mutable_fields();
    fields["taxonomy_version"].set_string_value((*classifier)->version());
    *fields["overall"].mutable_struct_value() = ScoresToStruct(report.overall);
    auto& by_lang = *fields["by_lang"].mutable_struct_value()->mutable_fields();
    for (const auto& [lang, scores] : report.by_lang) {
      *by_lang[lang].mutable_struct_value() = ScoresToStruct(scores);
    }
    fields["mistakes"].set_number_value(static_cast<double>(report.mistakes.size()));
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(root, &json);
    out << json << "\n";
  } else {
    out << "taxonomy " << (*classifier)->version() << "\n" << report.ToString();
  }
  if (report.overall.macro_f1 < options.min_macro_f1) {
    err << "topicwire eval: macro-F1 " << absl::StrFormat("%.4f", report.overall.macro_f1)
        << " is below --min-macro-f1=" << options.min_macro_f1 << "\n";
    return 1;
  }
  return 0;
}

}  // namespace topicwire::cli
