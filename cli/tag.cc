#include "cli/tag.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "classify/classifier.h"
#include "classify/evaluation.h"
#include "classify/golden.h"
#include "classify/tag_output.h"
#include "classify/taxonomy_lint.h"
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

google::protobuf::Struct MistakeToStruct(const classify::Mistake& mistake) {
  google::protobuf::Struct out;
  auto& fields = *out.mutable_fields();
  fields["article_id"].set_string_value(mistake.article_id);
  fields["lang"].set_string_value(mistake.lang);
  fields["topic"].set_string_value(mistake.topic);
  fields["kind"].set_string_value(mistake.false_positive ? "false_positive" : "false_negative");
  fields["title"].set_string_value(mistake.title);
  // The tag (or the partial score of a miss) with its evidence, as in TaggedArticle.tags.
  std::string tag_json;
  (void)google::protobuf::util::MessageToJsonString(mistake.tag, &tag_json);
  google::protobuf::Struct tag;
  if (google::protobuf::util::JsonStringToMessage(tag_json, &tag).ok()) {
    *fields["tag"].mutable_struct_value() = std::move(tag);
  }
  return out;
}

constexpr int kTaxonomyOk = 0;
constexpr int kTaxonomyFailed = 1;
constexpr int kTaxonomyUsage = 2;

std::string TaxonomyPath(const std::string& arg) {
  return arg == "default" ? classify::DefaultTaxonomyPath() : arg;
}

int LintCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() != 2) {
    err << "topicwire taxonomy lint: give one taxonomy FILE\n";
    return kTaxonomyUsage;
  }
  absl::StatusOr<std::vector<classify::LintProblem>> problems =
      classify::LintTaxonomyFile(TaxonomyPath(args[1]));
  if (!problems.ok()) {
    err << "topicwire taxonomy lint: " << problems.status().message() << "\n";
    return kTaxonomyUsage;
  }
  for (const classify::LintProblem& problem : *problems) out << problem.ToString() << "\n";
  if (problems->empty()) {
    // Lint found nothing; the compiler has the last word (e.g. the database as a whole).
    absl::StatusOr<std::unique_ptr<classify::Classifier>> compiled =
        classify::Classifier::FromFile(TaxonomyPath(args[1]));
    if (!compiled.ok()) {
      out << compiled.status().message() << "\n";
      return kTaxonomyFailed;
    }
    err << TaxonomyPath(args[1]) << ": ok, version " << (*compiled)->version() << ", "
        << (*compiled)->taxonomy().topics_size() << " topics\n";
    return kTaxonomyOk;
  }
  err << problems->size() << " problem(s)\n";
  return kTaxonomyFailed;
}

int TestCommand(const std::vector<std::string>& args, bool allow_uncovered, std::ostream& out,
                std::ostream& err) {
  if (args.size() < 3) {
    err << "topicwire taxonomy test: give a taxonomy FILE and at least one GOLDEN.jsonl\n";
    return kTaxonomyUsage;
  }
  absl::StatusOr<std::unique_ptr<classify::Classifier>> classifier =
      classify::Classifier::FromFile(TaxonomyPath(args[1]));
  if (!classifier.ok()) {
    err << "topicwire taxonomy test: " << classifier.status().message() << "\n";
    return kTaxonomyUsage;
  }
  int passed = 0, failed = 0;
  // Over all the golden files together: a rule needs a case in any one of them.
  classify::GoldenCoverage coverage((*classifier)->taxonomy());
  for (size_t i = 2; i < args.size(); ++i) {
    absl::StatusOr<std::vector<classify::GoldenCase>> cases = classify::ReadGoldenFile(args[i]);
    if (!cases.ok()) {
      err << "topicwire taxonomy test: " << cases.status().message() << "\n";
      return kTaxonomyUsage;
    }
    const classify::GoldenResult result = classify::RunGoldenCases(**classifier, *cases, &coverage);
    out << result.diff;
    passed += result.passed;
    failed += result.failed;
  }
  const std::string uncovered = coverage.UncoveredReport();
  out << uncovered;
  const int rules = static_cast<int>(coverage.rules().size());
  out << "taxonomy " << (*classifier)->version() << ": " << passed << " passed, " << failed
      << " failed; " << coverage.covered_count() << " of " << rules
      << " sense rules and conventions covered\n";
  if (!uncovered.empty()) {
    err << "topicwire taxonomy test: " << rules - coverage.covered_count()
        << " sense rule(s) or convention(s) are not covered by a golden case (listed above): add "
           "the cases described there"
        << (allow_uncovered ? "; not failing because of --allow-uncovered\n"
                            : ", or pass --allow-uncovered while drafting\n");
  }
  return failed == 0 && (uncovered.empty() || allow_uncovered) ? kTaxonomyOk : kTaxonomyFailed;
}

}  // namespace

absl::Status TagArticles(const std::string& taxonomy_path,
                         const std::vector<SourcedArticle>& articles, OutputFormat format,
                         std::ostream& out, bool explain) {
  absl::StatusOr<std::unique_ptr<classify::Classifier>> classifier = LoadClassifier(taxonomy_path);
  if (!classifier.ok()) return classifier.status();
  for (const SourcedArticle& article : articles) {
    const v1::TaggedArticle tagged = (*classifier)->Tag(article.article);
    out << (explain ? classify::ExplainDecisions(tagged, (*classifier)->Explain(article.article))
                    : FormatLine(tagged, format));
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
    if (options.sweep) {
      auto& sweep = *fields["sweep"].mutable_list_value();
      for (const classify::SweepPoint& point : classify::SweepThresholds(**classifier, articles)) {
        google::protobuf::Struct entry = TopicToStruct(point.scores);
        auto& entry_fields = *entry.mutable_fields();
        entry_fields["topic"].set_string_value(point.topic);
        entry_fields["threshold"].set_number_value(point.threshold);
        entry_fields["is_current"].set_bool_value(point.is_current);
        entry_fields["gate"].set_bool_value(point.gate);
        *sweep.add_values()->mutable_struct_value() = std::move(entry);
      }
    }
    auto& mistakes = *fields["mistakes"].mutable_list_value();
    for (const classify::Mistake& mistake : report.mistakes) {
      *mistakes.add_values()->mutable_struct_value() = MistakeToStruct(mistake);
    }
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(root, &json);
    out << json << "\n";
  } else {
    out << "taxonomy " << (*classifier)->version() << "\n" << report.ToString();
    if (options.sweep)
      out << classify::SweepToString(classify::SweepThresholds(**classifier, articles));
  }
  int code = 0;
  if (report.overall.macro_f1 < options.min_macro_f1) {
    err << "topicwire eval: macro-F1 " << absl::StrFormat("%.4f", report.overall.macro_f1)
        << " is below --min-macro-f1=" << options.min_macro_f1 << "\n";
    code = 1;
  }
  for (const auto& [lang, scores] : report.by_lang) {
    if (scores.macro_f1 < options.min_lang_macro_f1) {
      err << "topicwire eval: macro-F1 of lang=" << lang << " "
          << absl::StrFormat("%.4f", scores.macro_f1)
          << " is below --min-lang-macro-f1=" << options.min_lang_macro_f1 << "\n";
      code = 1;
    }
  }
  return code;
}

int RunTaxonomyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                       bool allow_uncovered) {
  if (!args.empty() && args[0] == "lint") return LintCommand(args, out, err);
  if (!args.empty() && args[0] == "test") return TestCommand(args, allow_uncovered, out, err);
  err << "topicwire taxonomy: give 'lint FILE' or 'test FILE GOLDEN.jsonl...' (see --help)\n";
  return kTaxonomyUsage;
}

namespace {

const CommandSpec kTag = {
    .name = "tag",
    .arguments = "[FILE... | -]",
    .brief = "Tag articles offline with the taxonomy, no pipeline needed",
    .summary =
        "Tags articles offline with the taxonomy (no sockets) and prints one line per\n"
        "article: the TaggedArticle JSON mapping, IPTC ninjs 3.x, or a short text line.\n"
        "--explain prints, for people, why each tag was given: every matched term, where\n"
        "(title/body, byte offsets) and what it added to the score; then every topic that\n"
        "was not tagged and why (below its threshold, failing the aboutness gate, or\n"
        "yielding to another topic), and every match a sense rule dropped, with the rule.",
    .flags = {
        {"taxonomy", "FILE", "", "Taxonomy file (\"\": classify's bundled default)"},
        {"format", "json|text|ninjs", "json", "Output format"},
        {"explain", "", "false", "Explain every tag (evidence and score) instead of --format",
         true},
    }};

int RunTagCommand(const ParsedArgs& args, CommandIo& io) {
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(args.Get("format"));
  if (!format.ok()) return Fail(io, "tag", format.status());
  absl::StatusOr<std::vector<SourcedArticle>> articles = ReadAllArticles(args.positional(), io.in);
  if (!articles.ok()) return Fail(io, "tag", articles.status());
  absl::StatusOr<bool> explain = args.GetBool("explain");
  if (!explain.ok()) return Fail(io, "tag", explain.status());
  if (absl::Status status = TagArticles(args.Get("taxonomy"), *articles, *format, io.out, *explain);
      !status.ok()) {
    return Fail(io, "tag", status);
  }
  return kExitOk;
}

const CommandSpec kEval = {
    .name = "eval",
    .arguments = "LABELLED.jsonl...",
    .brief = "Measure the taxonomy on labelled articles (precision, recall, F1)",
    .summary =
        "Measures the taxonomy on labelled articles (JSON Lines with a 'labels' list):\n"
        "per-topic precision, recall and F1, micro and macro F1, overall and per language.\n"
        "--sweep adds each topic's figures at other thresholds and without the aboutness\n"
        "gate, so that a calibration is seen, not guessed.",
    .flags = {
        {"taxonomy", "FILE", "", "Taxonomy file (\"\": classify's bundled default)"},
        {"json", "", "false", "Print the report as JSON", true},
        {"min-macro-f1", "X", "0", "Exit 1 when macro-F1 is below X"},
        {"min-lang-macro-f1", "X", "0", "Exit 1 when any language's macro-F1 is below X"},
        {"sweep", "", "false",
         "Also print precision/recall/F1 per topic at 0.5x..3x its threshold and without the "
         "aboutness gate",
         true},
    }};

int RunEvalCommand(const ParsedArgs& args, CommandIo& io) {
  EvalOptions options;
  options.taxonomy_path = args.Get("taxonomy");
  absl::StatusOr<bool> json = args.GetBool("json");
  absl::StatusOr<double> min_f1 = args.GetDouble("min-macro-f1");
  absl::StatusOr<double> min_lang_f1 = args.GetDouble("min-lang-macro-f1");
  absl::StatusOr<bool> sweep = args.GetBool("sweep");
  for (const absl::Status& status :
       {json.status(), min_f1.status(), min_lang_f1.status(), sweep.status()}) {
    if (!status.ok()) return Fail(io, "eval", status);
  }
  options.json = *json;
  options.min_macro_f1 = *min_f1;
  options.min_lang_macro_f1 = *min_lang_f1;
  options.sweep = *sweep;
  if (args.positional().empty()) {
    return Fail(io, "eval", absl::InvalidArgumentError("give at least one LABELLED.jsonl file"));
  }
  absl::StatusOr<int> code = Evaluate(options, args.positional(), io.out, io.err);
  if (!code.ok()) return Fail(io, "eval", code.status());
  return *code;
}

const CommandSpec kTaxonomy = {
    .name = "taxonomy",
    .arguments = "lint FILE | test FILE GOLDEN.jsonl...",
    .brief = "Check a taxonomy file (lint) or run golden cases against it (test)",
    .summary =
        "lint FILE: prints every problem with file, line and term (unknown fields,\n"
        "duplicate terms, patterns Vectorscan cannot compile, topics without labels in\n"
        "both languages or without an IPTC parent); exit 1 on any.\n"
        "test FILE GOLDEN.jsonl...: each golden line is an Article's JSON plus \"expect\"\n"
        "and \"absent\" lists of topic ids; prints a diff for each failing case. It\n"
        "also checks coverage: every sense rule of every term must drop a match in a\n"
        "case that names its topic, and let the real sense count in a case expecting\n"
        "the topic; every yields_to convention must make its topic give way in a case\n"
        "naming the topic. Uncovered rules are listed by topic, term and reason with\n"
        "the case to add. Exit 1 on any failure or uncovered rule.\n"
        "FILE \"default\" means classify's bundled taxonomy.",
    .flags = {
        {"allow-uncovered", "", "false",
         "taxonomy test: list uncovered rules but do not fail on them (while drafting)", true},
    }};

int RunTaxonomy(const ParsedArgs& args, CommandIo& io) {
  absl::StatusOr<bool> allow_uncovered = args.GetBool("allow-uncovered");
  if (!allow_uncovered.ok()) return Fail(io, "taxonomy", allow_uncovered.status());
  return RunTaxonomyCommand(args.positional(), io.out, io.err, *allow_uncovered);
}

}  // namespace

const Command& TagCommand() {
  static const Command* const command = new Command{kTag, RunTagCommand};
  return *command;
}

const Command& EvalCommand() {
  static const Command* const command = new Command{kEval, RunEvalCommand};
  return *command;
}

const Command& TaxonomyCommand() {
  static const Command* const command = new Command{kTaxonomy, RunTaxonomy};
  return *command;
}

}  // namespace topicwire::cli
