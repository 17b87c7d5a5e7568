// `topicwire tag` and `topicwire eval`: offline tagging with classify's library, no sockets.
#ifndef TOPICWIRE_CLI_TAG_H_
#define TOPICWIRE_CLI_TAG_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/article_reader.h"
#include "cli/command.h"
#include "cli/output.h"

namespace topicwire::cli {

// Tags `articles` with the taxonomy at `taxonomy_path` (empty: classify's bundled default) and
// writes one line per article in `format` to `out`. kInvalidArgument when the taxonomy does not
// load (the message names the file and line). With `explain`, prints classify::ExplainTags()
// for each article instead.
absl::Status TagArticles(const std::string& taxonomy_path,
                         const std::vector<SourcedArticle>& articles, OutputFormat format,
                         std::ostream& out, bool explain = false);

struct EvalOptions {
  std::string taxonomy_path;     // empty: the bundled default
  bool json = false;             // print the report as JSON instead of a table
  double min_macro_f1 = 0;       // exit 1 when macro-F1 is below this
  double min_lang_macro_f1 = 0;  // exit 1 when any language's macro-F1 is below this
  bool sweep = false;            // also print precision/recall per topic and threshold
};

// Evaluates the taxonomy on labelled JSON Lines files and prints the report. Returns the exit
// code (0, or 1 when macro-F1 < min_macro_f1 or a language's macro-F1 < min_lang_macro_f1);
// kUnimplemented when classify's evaluation API is
// not built in.
absl::StatusOr<int> Evaluate(const EvalOptions& options, const std::vector<std::string>& paths,
                             std::ostream& out, std::ostream& err);

// `topicwire taxonomy lint FILE` and `topicwire taxonomy test FILE GOLDEN...` (`args` are the
// positional arguments, starting with "lint" or "test"). Returns the exit code: 0 clean/passed,
// 1 problems/failures (for test also a sense rule or convention no golden case covers, unless
// `allow_uncovered`), 2 bad arguments or unreadable files.
int RunTaxonomyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                       bool allow_uncovered = false);

// `topicwire tag`, `topicwire eval` and `topicwire taxonomy`: their flags and help, and the
// functions above behind them.
const Command& TagCommand();
const Command& EvalCommand();
const Command& TaxonomyCommand();

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_TAG_H_
