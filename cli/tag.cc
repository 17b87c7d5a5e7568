#include "cli/tag.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "classify/classifier.h"

namespace topicwire::cli {
namespace {

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

absl::StatusOr<int> Evaluate(const EvalOptions&, const std::vector<std::string>&, std::ostream&,
                             std::ostream&) {
  return absl::UnimplementedError(
      "eval is not available yet: classify's evaluation API is not "
      "built in");
}

}  // namespace topicwire::cli
