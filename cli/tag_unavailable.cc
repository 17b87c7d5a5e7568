// Stand-in for cli/tag.cc when classify_lib is not part of the build.
#include "cli/tag.h"

namespace topicwire::cli {

absl::Status TagArticles(const std::string&, const std::vector<SourcedArticle>&, OutputFormat,
                         std::ostream&) {
  return absl::UnimplementedError("this topicwire was built without classify_lib: no tagging");
}

absl::StatusOr<int> Evaluate(const EvalOptions&, const std::vector<std::string>&, std::ostream&,
                             std::ostream&) {
  return absl::UnimplementedError("this topicwire was built without classify_lib: no eval");
}

}  // namespace topicwire::cli
