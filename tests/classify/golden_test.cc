// Golden-case coverage: which sense rules and topic conventions the cases exercised.
#include "classify/golden.h"

#include <algorithm>
#include <fstream>

#include "tests/testing/prelude.h"

namespace topicwire::classify {
namespace {

using namespace ::topicwire::testing::prelude;

constexpr char kTaxonomy[] = R"pb(
  version: "golden-1"
  default_threshold: 1
  topics {
    id: "space"
    label_en: "Space"
    terms {
      text: "Mars"
      senses {
        veto: [ "chocolate", "Inc" ]
        reason: "Mars the confectioner"
      }
      senses {
        require: [ "planet", "rover" ]
        scope: SENSE_SCOPE_ARTICLE
        reason: "Bruno Mars and other people"
      }
    }
    terms { text: "rocket" }
  }
  topics {
    id: "biomedicine"
    label_en: "Biomedicine"
    terms { text: "clinical trial" }
    yields_to { topic: "bci" by_sentence: true reason: "an implant trial is bci news" }
  }
  topics {
    id: "bci"
    label_en: "BCI"
    terms { text: "brain implant" }
  }
)pb";

GoldenCase Case(const std::string& name, const std::string& title, std::vector<std::string> expect,
                std::vector<std::string> absent) {
  GoldenCase golden;
  golden.name = name;
  golden.source = name;
  golden.article.set_title(title);
  golden.expect = std::move(expect);
  golden.absent = std::move(absent);
  return golden;
}

class GoldenCoverageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Classifier>> classifier =
        Classifier::FromText(kTaxonomy, "golden.textproto");
    ASSERT_THAT(classifier, IsOk());
    classifier_ = *std::move(classifier);
  }
  const RuleCoverage& Rule(const GoldenCoverage& coverage, const std::string& topic, int index,
                           bool is_convention) {
    const auto& rules = coverage.rules();
    auto it = std::find_if(rules.begin(), rules.end(), [&](const RuleCoverage& rule) {
      return rule.topic == topic && rule.index == index && rule.is_convention == is_convention;
    });
    EXPECT_NE(it, rules.end());
    return *it;
  }
  std::unique_ptr<Classifier> classifier_;
};

TEST_F(GoldenCoverageTest, ListsEveryRuleAndNoneIsCoveredWithoutCases) {
  GoldenCoverage coverage(classifier_->taxonomy());
  ASSERT_EQ(coverage.rules().size(), 3u);
  EXPECT_EQ(coverage.covered_count(), 0);
  const std::string report = coverage.UncoveredReport();
  EXPECT_THAT(report, HasSubstr("UNCOVERED space: term \"Mars\" senses[0] veto near the match: "
                                "chocolate, Inc (Mars the confectioner)"));
  EXPECT_THAT(report, HasSubstr("UNCOVERED space: term \"Mars\" senses[1] require in the "
                                "article: planet, rover (Bruno Mars and other people)"));
  EXPECT_THAT(report, HasSubstr("UNCOVERED biomedicine: yields_to[0] yields to bci (an implant "
                                "trial is bci news)"));
  EXPECT_THAT(report, HasSubstr("with \"space\" in \"absent\""));
  EXPECT_THAT(report, HasSubstr("with \"space\" in \"expect\""));
}

TEST_F(GoldenCoverageTest, CountsDropsKeepsAndYieldsOfCasesThatNameTheTopic) {
  GoldenCoverage coverage(classifier_->taxonomy());
  const std::vector<GoldenCase> cases = {
      Case("confectioner", "Mars Inc. sells chocolate", {}, {"space"}),
      Case("singer", "Bruno Mars tours Europe", {}, {"space"}),
      Case("planet", "A rover lands on Mars", {"space"}, {}),
      Case("implant", "Brain implant clinical trial", {"bci"}, {"biomedicine"}),
  };
  const GoldenResult result = RunGoldenCases(*classifier_, cases, &coverage);
  EXPECT_EQ(result.failed, 0) << result.diff;
  const RuleCoverage& veto = Rule(coverage, "space", 0, false);
  EXPECT_THAT(veto.fired, ElementsAre("confectioner"));
  EXPECT_THAT(veto.kept, ElementsAre("planet"));
  const RuleCoverage& require = Rule(coverage, "space", 1, false);
  EXPECT_THAT(require.fired, ElementsAre("singer"));
  EXPECT_THAT(require.kept, ElementsAre("planet"));
  EXPECT_THAT(Rule(coverage, "biomedicine", 0, true).fired, ElementsAre("implant"));
  EXPECT_EQ(coverage.covered_count(), 3);
  EXPECT_EQ(coverage.UncoveredReport(), "");
}

TEST_F(GoldenCoverageTest, ARuleFiringInACaseThatDoesNotNameItsTopicIsNotCovered) {
  GoldenCoverage coverage(classifier_->taxonomy());
  // The veto drops "Mars" and biomedicine yields, but neither case says anything about space or
  // biomedicine, so neither checks the rule.
  const std::vector<GoldenCase> cases = {
      Case("confectioner, checked for bci only", "Mars Inc. sells chocolate", {}, {"bci"}),
      Case("implant, checked for bci only", "Brain implant clinical trial", {"bci"}, {}),
  };
  RunGoldenCases(*classifier_, cases, &coverage);
  EXPECT_EQ(coverage.covered_count(), 0);
  EXPECT_THAT(Rule(coverage, "space", 0, false).fired, IsEmpty());
  EXPECT_THAT(Rule(coverage, "biomedicine", 0, true).fired, IsEmpty());
}

TEST_F(GoldenCoverageTest, ADroppedMatchWithoutARealSenseCaseIsStillUncovered) {
  GoldenCoverage coverage(classifier_->taxonomy());
  const std::vector<GoldenCase> cases = {
      Case("confectioner", "Mars Inc. sells chocolate", {}, {"space"}),
      // A rocket tags space, but no match of "Mars" got through its rules.
      Case("rocket", "Rocket test", {"space"}, {}),
  };
  RunGoldenCases(*classifier_, cases, &coverage);
  const RuleCoverage& veto = Rule(coverage, "space", 0, false);
  EXPECT_THAT(veto.fired, ElementsAre("confectioner"));
  EXPECT_THAT(veto.kept, IsEmpty());
  EXPECT_FALSE(veto.covered());
  const std::string report = coverage.UncoveredReport();
  EXPECT_THAT(report, HasSubstr("senses[0]"));
  EXPECT_THAT(report, HasSubstr("no case where the real sense still counts"));
  EXPECT_THAT(report, Not(HasSubstr("senses[0] veto near the match: chocolate, Inc (Mars the "
                                    "confectioner)\n  - no case where the rule drops a match")));
}

}  // namespace
}  // namespace topicwire::classify
