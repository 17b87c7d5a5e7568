// Taxonomy loading: errors name file, line and term; the term semantics of
// proto/taxonomy.proto (whole words, plurals, acronyms, Chinese substrings and scripts).
#include "classify/taxonomy.h"

#include <fstream>

#include "absl/strings/match.h"
#include "classify/classifier.h"
#include "tests/testing/prelude.h"

namespace topicwire::classify {
namespace {

using namespace ::topicwire::testing::prelude;

std::unique_ptr<Classifier> MustCompile(const std::string& text) {
  absl::StatusOr<std::unique_ptr<Classifier>> classifier =
      Classifier::FromText(text, "t.textproto");
  EXPECT_THAT(classifier, IsOk());
  return classifier.ok() ? *std::move(classifier) : nullptr;
}

// Topic ids `classifier` gives to an article with this body.
std::vector<std::string> TopicsOf(const Classifier& classifier, const std::string& body) {
  v1::Article article;
  article.set_body(body);
  std::vector<std::string> topics;
  const v1::TaggedArticle tagged = classifier.Tag(article);
  for (const v1::Tag& tag : tagged.tags()) topics.push_back(tag.topic());
  return topics;
}

// One topic "t" with `terms` (text-format lines) and threshold 1.
std::string OneTopic(const std::string& terms) { return "topics {\n  id: \"t\"\n" + terms + "}\n"; }

TEST(TaxonomyParseTest, SyntaxErrorNamesFileAndLine) {
  const std::string text = "version: \"1\"\ntopics {\n  id: \"ai\"\n  terms { text: \"AI\" \n}\n";
  EXPECT_THAT(ParseTaxonomy(text, "bad.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.textproto:")));
}

TEST(TaxonomyParseTest, UnknownFieldNamesFileLineAndField) {
  const std::string text = "version: \"1\"\n\ntopics {\n  id: \"ai\"\n  colour: \"red\"\n}\n";
  absl::StatusOr<TaxonomySpec> spec = ParseTaxonomy(text, "bad.textproto");
  EXPECT_THAT(spec, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.textproto:5")));
  EXPECT_THAT(spec, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("colour")));
}

TEST(TaxonomyParseTest, UncompilableRegexNamesFileLineTopicAndTerm) {
  const std::string text =
      "topics {\n"
      "  id: \"quantum\"\n"
      "  terms { text: \"qubit\" }\n"
      "  terms { regex: \"(unclosed\" }\n"
      "}\n";
  EXPECT_THAT(Classifier::FromText(text, "taxonomy.textproto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("taxonomy.textproto:4: topic \"quantum\": term regex "
                                 "\"(unclosed\" does not compile")));
}

TEST(TaxonomyParseTest, NotANumberWeightsAndThresholdsAreRefused) {
  // NaN compares false with everything, so a "not negative" check alone would let it through.
  EXPECT_THAT(ParseTaxonomy("topics { id: \"a\" terms { text: \"x\" weight: nan } }", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weight must be finite")));
  EXPECT_THAT(ParseTaxonomy("topics { id: \"a\" threshold: inf terms { text: \"x\" } }", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("threshold must be finite")));
  EXPECT_THAT(
      ParseTaxonomy("default_threshold: nan topics { id: \"a\" terms { text: \"x\" } }", "f"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be finite")));
}

TEST(TaxonomyParseTest, InvalidTopicsAreRefused) {
  EXPECT_THAT(ParseTaxonomy("topics { id: \"Bad-Id\" terms { text: \"x\" } }", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("topic \"Bad-Id\"")));
  EXPECT_THAT(ParseTaxonomy("topics { id: \"a\" }", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no terms")));
  EXPECT_THAT(
      ParseTaxonomy("topics { id: \"a\" terms { text: \"x\" } }\n"
                    "topics { id: \"a\" terms { text: \"y\" } }",
                    "f"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f:2: topic \"a\": duplicate")));
  EXPECT_THAT(ParseTaxonomy("topics { id: \"a\" terms { text: \"x\" regex: \"y\" } }", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one")));
  EXPECT_THAT(ParseTaxonomy("topics { id: \"untagged\" terms { text: \"x\" } }", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reserved")));
}

TEST(TaxonomyParseTest, MissingFileIsNotFound) {
  EXPECT_THAT(Classifier::FromFile("/nonexistent/taxonomy.textproto"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/taxonomy.textproto")));
}

TEST(TaxonomyParseTest, DefaultTaxonomyLoadsWithTenTopics) {
  absl::StatusOr<std::unique_ptr<Classifier>> classifier =
      Classifier::FromFile(DefaultTaxonomyPath());
  ASSERT_THAT(classifier, IsOk());
  EXPECT_EQ((*classifier)->taxonomy().topics_size(), 10);
  EXPECT_FALSE((*classifier)->version().empty());
  for (const v1::Topic& topic : (*classifier)->taxonomy().topics()) {
    EXPECT_FALSE(topic.label_en().empty()) << topic.id();
    EXPECT_FALSE(topic.label_zh().empty()) << topic.id();
    EXPECT_TRUE(absl::StartsWith(topic.iptc_parent(), "medtop:")) << topic.id();
  }
}

TEST(TermSemanticsTest, AcronymMatchesWholeWordAsWrittenOnly) {
  auto classifier = MustCompile(OneTopic("  terms { text: \"AI\" }\n"));
  ASSERT_NE(classifier, nullptr);
  EXPECT_THAT(TopicsOf(*classifier, "She said so."), IsEmpty());
  EXPECT_THAT(TopicsOf(*classifier, "MAIN STREET"), IsEmpty());
  EXPECT_THAT(TopicsOf(*classifier, "the ai of it"), IsEmpty());
  EXPECT_THAT(TopicsOf(*classifier, "New AI model"), UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier, "(AI)"), UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier, "AI芯片"), UnorderedElementsAre("t"));
}

TEST(TermSemanticsTest, EnglishTermsAreCaselessWholeWordsWithPlurals) {
  auto classifier =
      MustCompile(OneTopic("  terms { text: \"quantum\" }\n"
                           "  terms { text: \"chip\" }\n"
                           "  terms { text: \"technology\" }\n"));
  ASSERT_NE(classifier, nullptr);
  EXPECT_THAT(TopicsOf(*classifier, "Quantum rules"), UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier, "QUANTUM"), UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier, "new chips"), UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier, "technologies"), UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier, "chipset"), IsEmpty());
  EXPECT_THAT(TopicsOf(*classifier, "potato chipping"), IsEmpty());
  EXPECT_THAT(TopicsOf(*classifier, "quantumness"), IsEmpty());
}

TEST(TermSemanticsTest, PhrasesMatchAcrossSpacesAndDashes) {
  auto classifier = MustCompile(OneTopic("  terms { text: \"brain-computer interface\" }\n"));
  ASSERT_NE(classifier, nullptr);
  EXPECT_THAT(TopicsOf(*classifier, "a brain computer interface"), UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier,
                       "Brain\xE2\x80\x93"
                       "Computer Interfaces"),
              UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier, "brain-computer"), IsEmpty());
}

TEST(TermSemanticsTest, RegexMetacharactersInTextAreLiteral) {
  auto classifier = MustCompile(OneTopic("  terms { text: \"C++ (v2.0)\" }\n"));
  ASSERT_NE(classifier, nullptr);
  EXPECT_THAT(TopicsOf(*classifier, "written in C++ (v2.0) today"), UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier, "written in CCC (v2x0)"), IsEmpty());
}

TEST(TermSemanticsTest, ChineseTermsMatchAsSubstrings) {
  auto classifier = MustCompile(OneTopic("  terms { text: \"量子计算\" }\n"));
  ASSERT_NE(classifier, nullptr);
  EXPECT_THAT(TopicsOf(*classifier, "我国量子计算机再进一步"), UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier, "量子力学"), IsEmpty());
}

TEST(TermSemanticsTest, ChineseTermsMatchTraditionalScript) {
  if (TraditionalVariants("芯片").empty()) GTEST_SKIP() << "built without OpenCC";
  auto classifier =
      MustCompile(OneTopic("  terms { text: \"量子计算\" }\n"
                           "  terms { text: \"区块链\" }\n"));
  ASSERT_NE(classifier, nullptr);
  EXPECT_THAT(TopicsOf(*classifier, "量子計算的突破"), UnorderedElementsAre("t"));
  EXPECT_THAT(TopicsOf(*classifier, "區塊鏈技術"), UnorderedElementsAre("t"));
  EXPECT_THAT(TraditionalVariants("芯片"), ::testing::Contains("晶片"));  // Taiwan usage
}

TEST(TermSemanticsTest, ExclusionsHideFalseFriends) {
  auto classifier =
      MustCompile(OneTopic("  terms { text: \"quantum\" }\n"
                           "  terms { text: \"AI\" }\n"
                           "  exclusions { text: \"quantum leap\" }\n"
                           "  exclusions { text: \"AI Weiwei\" case_sensitive: true }\n"));
  ASSERT_NE(classifier, nullptr);
  EXPECT_THAT(TopicsOf(*classifier, "a quantum leap for the club"), IsEmpty());
  EXPECT_THAT(TopicsOf(*classifier, "artist AI Weiwei opened a show"), IsEmpty());
  EXPECT_THAT(TopicsOf(*classifier, "a quantum leap in quantum sensors"),
              UnorderedElementsAre("t"));
}

TEST(TermSemanticsTest, ExclusionsOfOtherTopicsDoNotInterfere) {
  auto classifier = MustCompile(
      "topics { id: \"a\" terms { text: \"quantum\" } exclusions { text: \"quantum leap\" } }\n"
      "topics { id: \"b\" terms { text: \"quantum\" } }\n");
  ASSERT_NE(classifier, nullptr);
  EXPECT_THAT(TopicsOf(*classifier, "a quantum leap"), UnorderedElementsAre("b"));
}

TEST(TermSemanticsTest, SeveralVariantsOfOneTermCountOnce) {
  auto classifier = MustCompile(OneTopic("  terms { text: \"芯片\" weight: 0.6 }\n"));
  ASSERT_NE(classifier, nullptr);
  v1::Article article;
  article.set_body("芯片");
  v1::TaggedArticle tagged = classifier->Tag(article);
  EXPECT_THAT(tagged.tags(), IsEmpty());  // 0.6 < 1, even if variants also matched
}

}  // namespace
}  // namespace topicwire::classify
