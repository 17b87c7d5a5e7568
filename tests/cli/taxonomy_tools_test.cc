// `topicwire tag --explain`, `--format ninjs`, `taxonomy lint|test` and eval's JSON mistakes,
// through the command line with classify's default taxonomy.
#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::cli {
namespace {

using namespace ::topicwire::testing::prelude;

constexpr char kQuantumArticle[] =
    "{\"id\": \"q1\", \"title\": \"Quantum computing milestone\", \"body\": \"A new "
    "superconducting quantum processor with more qubits.\"}\n";

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun RunWith(const std::vector<std::string>& args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out, err;
  const int code = RunCli(args, {.in = in, .out = out, .err = err});
  return {code, out.str(), err.str()};
}

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = topicwire::testing::MakeTempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

TEST(TagExplainTest, ShowsScoreThresholdAndEveryPieceOfEvidence) {
  CliRun run = RunWith({"tag", "--explain"}, kQuantumArticle);
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("q1: Quantum computing milestone"));
  EXPECT_THAT(run.out, HasSubstr("quantum (Quantum technology): score"));
  EXPECT_THAT(run.out, HasSubstr(">= threshold 1.00"));
  EXPECT_THAT(run.out, HasSubstr("title [0,17) \"Quantum computing\" matched term \"quantum "
                                 "computing\": +2.00"));
  EXPECT_THAT(run.out, HasSubstr("body ["));
}

TEST(TagExplainTest, SaysWhenNothingWasTagged) {
  CliRun run = RunWith({"tag", "--explain"}, "{\"id\": \"w\", \"title\": \"Heavy rain\"}\n");
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("no tags"));
}

TEST(TagExplainTest, ShowsWhatASenseRuleDroppedAndWhyATopicWasNotTagged) {
  CliRun run = RunWith({"tag", "--explain"},
                       "{\"id\": \"m\", \"title\": \"Mars Inc. buys a snack maker\", "
                       "\"body\": \"The chocolate maker said so. A clinical trial was "
                       "mentioned once.\"}\n");
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("dropped for space: title [0,4) \"Mars\" matched term \"Mars\": "
                                 "vetoed by \"inc\" near: Mars Inc."));
  EXPECT_THAT(run.out, HasSubstr("not tagged: biomedicine"));
  EXPECT_THAT(run.out, HasSubstr("score 1.00 < threshold 1.25"));
}

// ESC [2J clears the screen, ESC ] 0; retitles the window, U+009B is a one-byte CSI and U+202E
// reverses the text after it: a publisher's article must not do any of that to a reader.
constexpr char kHostileArticle[] =
    "{\"id\": \"evil\\u001b[2J\", \"title\": \"Quantum computing \\u001b]0;owned\\u0007 "
    "\\u009b31m \\u202egnp.exe\"}\n";
constexpr char kHostileShown[] =
    "evil\\x1b[2J: Quantum computing \\x1b]0;owned\\x07 \\u009b31m \\u202egnp.exe";

// `topicwire ARGS` on kHostileArticle shows every control and override, and prints none.
void ExpectHostileArticleShownNotObeyed(const std::vector<std::string>& args) {
  CliRun run = RunWith(args, kHostileArticle);
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr(kHostileShown));
  for (const char* raw : {"\x1b", "\xc2\x9b", "\xe2\x80\xae"}) {
    EXPECT_THAT(run.out, Not(HasSubstr(raw)));
  }
}

TEST(TagExplainTest, EscapeSequencesInTheArticleAreShownNotObeyed) {
  ExpectHostileArticleShownNotObeyed({"tag", "--explain"});
}

TEST(TagTextFormatTest, EscapeSequencesInTheArticleAreShownNotObeyed) {
  ExpectHostileArticleShownNotObeyed({"tag", "--format", "text"});
}

// Required properties from the IPTC ninjs 3.0 JSON schema
// (http://www.iptc.org/std/ninjs/ninjs-schema_3.0.json): the news item requires "uri";
// headlines[] and bodies[] items require "value". The subjects[] properties topicwire promises
// (issue 6) are uri, name, rel, confidence, relevance (integers 0..100) and creator.
TEST(NinjsFormatTest, TagOutputHasTheSchemasRequiredFields) {
  CliRun run = RunWith({"tag", "--format", "ninjs"},
                       std::string(kQuantumArticle) +
                           "{\"url\": \"https://example.com/rain\", \"title\": \"Heavy rain\"}\n");
  ASSERT_EQ(run.code, kExitOk) << run.err;
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  google::protobuf::Struct item;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &item).ok()) << lines[0];
  const auto& fields = item.fields();
  ASSERT_TRUE(fields.contains("uri"));
  EXPECT_EQ(fields.at("uri").string_value(), "urn:topicwire:article:q1");
  for (const char* texts : {"headlines", "bodies"}) {
    ASSERT_TRUE(fields.contains(texts)) << texts;
    for (const auto& text : fields.at(texts).list_value().values()) {
      EXPECT_TRUE(text.struct_value().fields().contains("value")) << texts;
    }
  }
  ASSERT_TRUE(fields.contains("subjects"));
  const auto& subjects = fields.at("subjects").list_value().values();
  ASSERT_GE(subjects.size(), 2);
  bool saw_quantum = false, saw_iptc_parent = false;
  for (const auto& value : subjects) {
    const auto& subject = value.struct_value().fields();
    for (const char* required : {"uri", "name", "rel", "confidence", "relevance", "creator"}) {
      ASSERT_TRUE(subject.contains(required)) << required << " in " << lines[0];
    }
    for (const char* percent : {"confidence", "relevance"}) {
      const double number = subject.at(percent).number_value();
      EXPECT_GE(number, 0);
      EXPECT_LE(number, 100);
      EXPECT_EQ(number, static_cast<int>(number)) << percent << " must be an integer";
    }
    EXPECT_THAT(subject.at("creator").string_value(), HasSubstr("2026.12-1"));
    if (subject.at("uri").string_value() == "https://topicwire.dev/topics/quantum") {
      saw_quantum = true;
      EXPECT_EQ(subject.at("rel").string_value(), "about");
      EXPECT_EQ(subject.at("relevance").number_value(), 100);
    }
    if (subject.at("uri").string_value() == "http://cv.iptc.org/newscodes/mediatopic/13000000") {
      saw_iptc_parent = true;
    }
  }
  EXPECT_TRUE(saw_quantum);
  EXPECT_TRUE(saw_iptc_parent);
  google::protobuf::Struct rain;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[1], &rain).ok());
  EXPECT_EQ(rain.fields().at("uri").string_value(), "https://example.com/rain");
  EXPECT_FALSE(rain.fields().contains("subjects"));
}

// subscribe prints through the same FormatLine(): --format ninjs is one ninjs item per line.
TEST(NinjsFormatTest, SubscribeFormatParsesAndPrintsOneItemPerLine) {
  absl::StatusOr<OutputFormat> format = ParseOutputFormat("ninjs");
  ASSERT_TRUE(format.ok());
  v1::TaggedArticle tagged;
  tagged.mutable_article()->set_id("s1");
  tagged.set_taxonomy_version("v9");
  v1::Tag* tag = tagged.add_tags();
  tag->set_topic("ai");
  tag->set_score(2);
  tag->set_threshold(1);
  tag->set_uri("https://topicwire.dev/topics/ai");
  const std::string line = FormatLine(tagged, *format);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  EXPECT_THAT(line, HasSubstr("\"uri\":\"urn:topicwire:article:s1\""));
  EXPECT_THAT(line, HasSubstr("\"confidence\":75"));
  EXPECT_THAT(line, HasSubstr("\"creator\":\"topicwire taxonomy v9\""));
  EXPECT_FALSE(ParseOutputFormat("xml").ok());
}

TEST(TaxonomyLintTest, DefaultTaxonomyIsClean) {
  CliRun run = RunWith({"taxonomy", "lint", "default"});
  EXPECT_EQ(run.code, 0) << run.out << run.err;
  EXPECT_EQ(run.out, "");
}

TEST(TaxonomyLintTest, ReportsEveryProblemWithFileLineAndTerm) {
  const std::string path = WriteFile("bad.textproto", R"(version: "x"
bogus_field: 3
topics {
  id: "a"
  label_en: "A"
  iptc_parent: "medtop:13000000"
  terms { text: "foo" }
  terms { text: "Foo" }
  terms { regex: "(unclosed" }
  colour: "red"
}
topics {
  id: "a"
  label_en: "A2"
  label_zh: "甲"
  terms { text: "bar" regex: "x" }
}
)");
  CliRun run = RunWith({"taxonomy", "lint", path});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.out, HasSubstr(path + ":2: column 1"));  // unknown field bogus_field
  EXPECT_THAT(run.out, HasSubstr("bogus_field"));
  EXPECT_THAT(run.out, HasSubstr(path + ":10:"));  // unknown field colour: not just the first
  EXPECT_THAT(run.out, HasSubstr(path + ":3: topic \"a\": no Chinese label"));
  EXPECT_THAT(run.out, HasSubstr(path + ":8: topic \"a\": term \"Foo\": duplicate term"));
  EXPECT_THAT(run.out, HasSubstr(path + ":9: topic \"a\": term \"(unclosed\": Vectorscan cannot"));
  EXPECT_THAT(run.out, HasSubstr(path + ":12: topic \"a\": duplicate topic id"));
  EXPECT_THAT(run.out, HasSubstr(path + ":12: topic \"a\": iptc_parent"));
  EXPECT_THAT(run.out, HasSubstr(path + ":16: topic \"a\": term \"x\": a term sets exactly one"));
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 8) << run.out;
}

TEST(TaxonomyLintTest, ReportsSenseRulesConventionsAndGatesThatCannotWork) {
  const std::string path = WriteFile("senses.textproto", R"(version: "x"
topics {
  id: "space"
  label_en: "Space"
  label_zh: "航天"
  iptc_parent: "medtop:13000000"
  terms { text: "Mars" senses { veto: ["Mars"] } }
  terms { text: "galaxy" senses { require: ["star"] veto: ["team"] } }
  terms { text: "orbit" senses { reason: "no words" } }
  terms { text: "rocket" senses { veto: ["a very long phrase that no window holds"] window: 3 } }
  terms { text: "comet" senses { veto: ["tail", "Tail"] } }
  exclusions { text: "space bar" senses { veto: ["key"] } }
  yields_to { topic: "nothing" by_sentence: true }
  yields_to { topic: "space" below_ratio: 1 }
  yields_to { topic: "ai" }
  aboutness { min_sentences: -1 }
}
topics {
  id: "ai"
  label_en: "AI"
  label_zh: "人工智能"
  iptc_parent: "medtop:13000000"
  terms { text: "AI" }
}
)");
  CliRun run = RunWith({"taxonomy", "lint", path});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.out, HasSubstr("term \"Mars\": sense rule 1: the veto always fires"));
  EXPECT_THAT(run.out, HasSubstr("term \"galaxy\": sense rule 1: set words in exactly one"));
  EXPECT_THAT(run.out, HasSubstr("term \"orbit\": sense rule 1: set words in exactly one"));
  EXPECT_THAT(run.out, HasSubstr("term \"rocket\": sense rule 1: veto word"));
  EXPECT_THAT(run.out, HasSubstr("can never be found"));
  EXPECT_THAT(run.out,
              HasSubstr("term \"comet\": sense rule 1: veto word \"Tail\" is listed twice"));
  EXPECT_THAT(run.out, HasSubstr("term \"space bar\": an exclusion takes no sense rules"));
  EXPECT_THAT(run.out, HasSubstr("yields_to \"nothing\": no topic has this id"));
  EXPECT_THAT(run.out, HasSubstr("yields_to \"space\": a topic cannot yield to itself"));
  EXPECT_THAT(run.out, HasSubstr("yields_to \"ai\": never gives way"));
  EXPECT_THAT(run.out, HasSubstr("aboutness: min_distinct_terms, min_sentences"));
}

TEST(TaxonomyLintTest, SyntaxErrorAndMissingFile) {
  CliRun syntax = RunWith({"taxonomy", "lint", WriteFile("syntax.textproto", "topics {\n")});
  EXPECT_EQ(syntax.code, 1);
  EXPECT_THAT(syntax.out, HasSubstr("syntax.textproto:"));
  EXPECT_EQ(RunWith({"taxonomy", "lint", "/nonexistent/t.textproto"}).code, 2);
  EXPECT_EQ(RunWith({"taxonomy", "frobnicate"}).code, 2);
}

// The shipped golden cases of the default taxonomy: CI fails when a taxonomy edit breaks one, or
// adds a sense rule or convention without a case for it.
TEST(TaxonomyTestTest, DefaultGoldenCasesPass) {
  CliRun run =
      RunWith({"taxonomy", "test", "default",
               topicwire::testing::SourceDir() + "/classify/taxonomy/default_golden.jsonl"});
  EXPECT_EQ(run.code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr(" 0 failed"));
  EXPECT_THAT(run.out, Not(HasSubstr("FAIL")));
  EXPECT_THAT(run.out, Not(HasSubstr("UNCOVERED")));
  std::smatch counts;
  ASSERT_TRUE(std::regex_search(run.out, counts,
                                std::regex("; ([0-9]+) of ([0-9]+) sense rules and conventions")))
      << run.out;
  EXPECT_EQ(counts[1].str(), counts[2].str());
  EXPECT_NE(counts[2].str(), "0");
}

constexpr char kRuleTaxonomy[] = R"pb(
  version: "rules-1"
  topics {
    id: "space"
    label_en: "Space"
    label_zh: "航天"
    iptc_parent: "medtop:13000000"
    terms {
      text: "Mars"
      senses { veto: "chocolate" reason: "Mars the confectioner" }
    }
    terms { text: "rocket" }
    yields_to { topic: "quantum" below_ratio: 0.7 reason: "a test convention" }
  }
  topics {
    id: "quantum"
    label_en: "Quantum"
    label_zh: "量子"
    iptc_parent: "medtop:13000000"
    terms { text: "qubit" }
  }
)pb";

TEST(TaxonomyTestTest, UncoveredRulesAreListedAndFailUnlessAllowed) {
  const std::string taxonomy = WriteFile("rules.textproto", kRuleTaxonomy);
  // The veto drops a match and the planet still counts; nothing makes space yield to quantum.
  const std::string golden = WriteFile(
      "rules.jsonl",
      "{\"name\": \"confectioner\", \"title\": \"Mars chocolate bar\", \"absent\": [\"space\"]}\n"
      "{\"name\": \"planet\", \"title\": \"Water on Mars\", \"expect\": [\"space\"]}\n");
  CliRun run = RunWith({"taxonomy", "test", taxonomy, golden});
  EXPECT_EQ(run.code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("2 passed, 0 failed; 1 of 2 sense rules and conventions covered"));
  EXPECT_THAT(run.out,
              HasSubstr("UNCOVERED space: yields_to[0] yields to quantum (a test convention)\n"
                        "  - no case where space gives way"));
  EXPECT_THAT(run.out, Not(HasSubstr("term \"Mars\"")));
  EXPECT_THAT(run.err, HasSubstr("1 sense rule(s) or convention(s) are not covered"));
  EXPECT_THAT(run.err, HasSubstr("--allow-uncovered"));

  CliRun allowed = RunWith({"taxonomy", "test", "--allow-uncovered", taxonomy, golden});
  EXPECT_EQ(allowed.code, 0) << allowed.out << allowed.err;
  EXPECT_THAT(allowed.out, HasSubstr("UNCOVERED space: yields_to[0]"));

  // A second golden file covers the convention: coverage is counted over all files together.
  const std::string more = WriteFile(
      "more.jsonl",
      "{\"name\": \"qubits\", \"title\": \"Rocket carries a qubit\", \"body\": \"The qubit "
      "works. A qubit array follows. Each qubit is cold.\", \"expect\": [\"quantum\"], "
      "\"absent\": [\"space\"]}\n");
  CliRun both = RunWith({"taxonomy", "test", taxonomy, golden, more});
  EXPECT_EQ(both.code, 0) << both.out << both.err;
  EXPECT_THAT(both.out,
              HasSubstr("3 passed, 0 failed; 2 of 2 sense rules and conventions covered"));
}

TEST(TaxonomyTestTest, FailingCasesPrintADiffWithEvidence) {
  const std::string golden =
      WriteFile("golden.jsonl",
                "# comment\n"
                "{\"name\": \"wrong on purpose\", \"title\": \"Quantum computing milestone\", "
                "\"expect\": [\"space\"], \"absent\": [\"quantum\"]}\n"
                "{\"name\": \"right\", \"title\": \"Quantum computing milestone\", \"expect\": "
                "[\"quantum\"]}\n");
  CliRun run = RunWith({"taxonomy", "test", "default", golden});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.out, HasSubstr("FAIL wrong on purpose (" + golden + ":2)"));
  EXPECT_THAT(run.out, HasSubstr("  - space (expected, not tagged: no term matched)"));
  EXPECT_THAT(run.out, HasSubstr("  + quantum (must be absent; score 2.00 from \"Quantum "
                                 "computing\")"));
  EXPECT_THAT(run.out, HasSubstr("1 passed, 1 failed"));
  EXPECT_EQ(
      RunWith({"taxonomy", "test", "default", WriteFile("e.jsonl", "{\"title\": \"x\"}\n")}).code,
      2);
}

TEST(EvalJsonTest, ListsMistakesWithEvidenceAndSplitsByLanguage) {
  const std::string labelled = WriteFile(
      "labelled.jsonl",
      "{\"id\": \"e1\", \"title\": \"Quantum computing milestone\", \"labels\": [\"space\"], "
      "\"lang\": \"en\"}\n"
      "{\"id\": \"e2\", \"title\": \"量子计算机\", \"labels\": [\"quantum\"], \"lang\": \"zh\"}\n");
  CliRun run = RunWith({"eval", "--json", labelled});
  ASSERT_EQ(run.code, 0) << run.err;
  google::protobuf::Struct report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &report).ok()) << run.out;
  const auto& fields = report.fields();
  ASSERT_TRUE(fields.contains("by_lang"));
  EXPECT_TRUE(fields.at("by_lang").struct_value().fields().contains("zh"));
  const auto& mistakes = fields.at("mistakes").list_value().values();
  ASSERT_EQ(mistakes.size(), 2);  // e1: quantum false positive, space false negative
  bool saw_false_positive = false;
  for (const auto& mistake : mistakes) {
    const auto& m = mistake.struct_value().fields();
    if (m.at("kind").string_value() == "false_positive") {
      saw_false_positive = true;
      EXPECT_EQ(m.at("topic").string_value(), "quantum");
      EXPECT_GT(m.at("tag").struct_value().fields().at("evidence").list_value().values_size(), 0);
    }
  }
  EXPECT_TRUE(saw_false_positive);
}

}  // namespace
}  // namespace topicwire::cli
