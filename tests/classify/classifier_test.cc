// Classifier scoring, evidence and thread safety; the sample feed's golden tags.
#include "classify/classifier.h"

#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "classify/evaluation.h"
#include "google/protobuf/arena.h"
#include "tests/testing/prelude.h"

namespace topicwire::classify {
namespace {

using namespace ::topicwire::testing::prelude;

constexpr char kTaxonomy[] = R"pb(
  version: "test-1"
  title_weight: 3
  default_threshold: 1
  topics {
    id: "space"
    label_en: "Space"
    label_zh: "航天"
    terms { text: "rocket" weight: 0.5 }
    terms { text: "orbit" weight: 0.5 }
    terms { text: "space station" }
  }
  topics {
    id: "quantum"
    label_en: "Quantum"
    label_zh: "量子"
    threshold: 2
    terms { text: "qubit" }
    terms { text: "quantum" }
    terms { text: "quantum computer" }
  }
)pb";

class ClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Classifier>> classifier =
        Classifier::FromText(kTaxonomy, "test.textproto");
    ASSERT_THAT(classifier, IsOk());
    classifier_ = *std::move(classifier);
  }

  v1::TaggedArticle Tag(const std::string& title, const std::string& body) {
    v1::Article article;
    article.set_id("a1");
    article.set_title(title);
    article.set_body(body);
    return classifier_->Tag(article);
  }

  std::unique_ptr<Classifier> classifier_;
};

TEST_F(ClassifierTest, ScoreSumsWeightsAndTagsAtThreshold) {
  EXPECT_THAT(Tag("", "a rocket").tags(), IsEmpty());  // 0.5 < 1
  v1::TaggedArticle tagged = Tag("", "a rocket in orbit");
  ASSERT_THAT(tagged.tags(), SizeIs(1));
  EXPECT_EQ(tagged.tags(0).topic(), "space");
  EXPECT_THAT(tagged.tags(0).score(), DoubleNear(1.0, 1e-9));
  EXPECT_EQ(tagged.tags(0).threshold(), 1.0);
  EXPECT_EQ(tagged.tags(0).label_en(), "Space");
  EXPECT_EQ(tagged.tags(0).label_zh(), "航天");
  EXPECT_EQ(tagged.taxonomy_version(), "test-1");
  EXPECT_EQ(tagged.article().id(), "a1");
}

TEST_F(ClassifierTest, AddTagsOnAnArenaGivesWhatTagGives) {
  v1::Article article;
  article.set_id("a1");
  article.set_title("Quantum computer in orbit");
  article.set_body("a rocket took the qubit to the space station; quantum quantum");
  google::protobuf::Arena arena;
  auto* tagged = google::protobuf::Arena::CreateMessage<v1::TaggedArticle>(&arena);
  *tagged->mutable_article() = article;
  classifier_->AddTags(tagged->article(), *tagged);
  const v1::TaggedArticle expected = classifier_->Tag(article);
  ASSERT_THAT(expected.tags(), SizeIs(2));
  EXPECT_EQ(tagged->SerializeAsString(), expected.SerializeAsString());
}

TEST_F(ClassifierTest, ScoreTopicsExplainsTopicsBelowThreshold) {
  v1::Article article;
  article.set_body("a rocket and a qubit");
  const std::vector<v1::Tag> scored = classifier_->ScoreTopics(article);
  ASSERT_THAT(scored, SizeIs(2));
  EXPECT_EQ(scored[0].topic(), "quantum");  // 1 of 2
  EXPECT_EQ(scored[0].threshold(), 2.0);
  EXPECT_EQ(scored[1].topic(), "space");  // 0.5 of 1
  EXPECT_THAT(scored[1].score(), DoubleNear(0.5, 1e-9));
  EXPECT_THAT(classifier_->Tag(article).tags(), IsEmpty());
}

TEST_F(ClassifierTest, TitleMatchesWeighMore) {
  v1::TaggedArticle tagged = Tag("Rocket news", "");
  ASSERT_THAT(tagged.tags(), SizeIs(1));
  EXPECT_THAT(tagged.tags(0).score(), DoubleNear(1.5, 1e-9));  // 0.5 x title_weight 3
  EXPECT_EQ(tagged.tags(0).evidence(0).field(), v1::TEXT_FIELD_TITLE);
}

TEST_F(ClassifierTest, RepeatedTermHasDiminishingReturns) {
  // 0.5 + 0.25 + 0.1667 = 0.9167 < 1: repeating one hint never makes a topic cheaply.
  EXPECT_THAT(Tag("", "rocket rocket rocket").tags(), IsEmpty());
  v1::TaggedArticle tagged = Tag("", "rocket rocket rocket rocket");
  ASSERT_THAT(tagged.tags(), SizeIs(1));
  EXPECT_THAT(tagged.tags(0).score(), DoubleNear(0.5 * (1 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4), 1e-9));
}

TEST_F(ClassifierTest, TopicThresholdOverridesDefault) {
  EXPECT_THAT(Tag("", "a qubit").tags(), IsEmpty());  // 1 < 2
  EXPECT_THAT(Tag("", "a qubit, and quantum ideas").tags(), SizeIs(1));
}

TEST_F(ClassifierTest, ShorterTermInsideLongerMatchDoesNotCountTwice) {
  v1::TaggedArticle tagged = Tag("", "a quantum computer and a qubit");
  ASSERT_THAT(tagged.tags(), SizeIs(1));
  EXPECT_THAT(tagged.tags(0).score(), DoubleNear(2.0, 1e-9));
  ASSERT_THAT(tagged.tags(0).evidence(), SizeIs(2));
  EXPECT_EQ(tagged.tags(0).evidence(0).term(), "quantum computer");
}

TEST_F(ClassifierTest, TagsSortedByScore) {
  v1::TaggedArticle tagged =
      Tag("Space station", "quantum computer qubit quantum sensors rocket orbit");
  ASSERT_THAT(tagged.tags(), SizeIs(2));
  EXPECT_EQ(tagged.tags(0).topic(), "space");    // 3 + 0.5 + 0.5 = 4
  EXPECT_EQ(tagged.tags(1).topic(), "quantum");  // 1 + 1 + 1 = 3
  EXPECT_GT(tagged.tags(0).score(), tagged.tags(1).score());
}

TEST_F(ClassifierTest, EvidenceOffsetsPointAtTheMatchedText) {
  const std::string body = "We saw the Space Stations and a ROCKET in orbit.";
  v1::TaggedArticle tagged = Tag("", body);
  ASSERT_THAT(tagged.tags(), SizeIs(1));
  ASSERT_THAT(tagged.tags(0).evidence(), SizeIs(3));
  for (const v1::Evidence& evidence : tagged.tags(0).evidence()) {
    EXPECT_EQ(body.substr(evidence.start(), evidence.end() - evidence.start()),
              evidence.matched_text());
    EXPECT_EQ(evidence.field(), v1::TEXT_FIELD_BODY);
    EXPECT_GT(evidence.contribution(), 0);
  }
  EXPECT_EQ(tagged.tags(0).evidence(0).matched_text(), "Space Stations");
  EXPECT_EQ(tagged.tags(0).evidence(0).term(), "space station");
  EXPECT_EQ(tagged.tags(0).evidence(1).matched_text(), "ROCKET");
}

TEST_F(ClassifierTest, ChineseEvidenceOffsetsAreBytes) {
  absl::StatusOr<std::unique_ptr<Classifier>> classifier =
      Classifier::FromText("topics { id: \"q\" terms { text: \"量子\" } }");
  ASSERT_THAT(classifier, IsOk());
  v1::Article article;
  article.set_body("我国量子计算");
  v1::TaggedArticle tagged = (*classifier)->Tag(article);
  ASSERT_THAT(tagged.tags(), SizeIs(1));
  EXPECT_EQ(tagged.tags(0).evidence(0).start(), 6u);  // two 3-byte characters before it
  EXPECT_EQ(tagged.tags(0).evidence(0).end(), 12u);
  EXPECT_EQ(tagged.tags(0).evidence(0).matched_text(), "量子");
}

TEST_F(ClassifierTest, SafeFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (Tag("", "a rocket in orbit").tags_size() != 1) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, 0);
}

TEST(VersionTest, UnversionedTaxonomyGetsAStableFingerprint) {
  auto a = Classifier::FromText("topics { id: \"a\" terms { text: \"x\" } }");
  auto b = Classifier::FromText("topics { id: \"a\" terms { text: \"x\" } }");
  auto c = Classifier::FromText("topics { id: \"a\" terms { text: \"y\" } }");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ((*a)->version(), (*b)->version());
  EXPECT_NE((*a)->version(), (*c)->version());
  EXPECT_TRUE(absl::StartsWith((*a)->version(), "unversioned-"));
}

// samples/feed.jsonl tagged with the default taxonomy gives exactly samples/feed.expected.tsv.
TEST(SampleFeedTest, DefaultTaxonomyGivesTheExpectedTopics) {
  const std::string dir = ::topicwire::testing::SourceDir() + "/samples/";
  absl::StatusOr<std::vector<LabelledArticle>> feed = ReadLabelledJsonl(dir + "feed.jsonl");
  ASSERT_THAT(feed, IsOk());
  ASSERT_GE(feed->size(), 25u);
  std::ifstream expected_file(dir + "feed.expected.tsv");
  ASSERT_TRUE(expected_file) << dir << "feed.expected.tsv";
  std::map<std::string, std::string> expected;
  std::string line;
  while (std::getline(expected_file, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    expected[fields[0]] = fields.size() > 1 ? fields[1] : "";
  }
  auto classifier = Classifier::FromFile(DefaultTaxonomyPath());
  ASSERT_THAT(classifier, IsOk());
  for (const LabelledArticle& item : *feed) {
    ASSERT_FALSE(item.article.id().empty());
    ASSERT_TRUE(expected.contains(item.article.id())) << item.article.id();
    std::vector<std::string> topics;
    const v1::TaggedArticle tagged = (*classifier)->Tag(item.article);
    for (const v1::Tag& tag : tagged.tags()) topics.push_back(tag.topic());
    std::sort(topics.begin(), topics.end());
    std::vector<std::string> want =
        absl::StrSplit(expected[item.article.id()], ',', absl::SkipEmpty());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(absl::StrJoin(topics, ","), absl::StrJoin(want, ","))
        << item.article.id() << ": " << item.article.title();
  }
  EXPECT_EQ(expected.size(), feed->size());
}

constexpr char kSenseTaxonomy[] = R"pb(
  version: "sense-1"
  topics {
    id: "space"
    label_en: "Space"
    label_zh: "航天"
    terms {
      text: "Mars"
      case_sensitive: true
      senses {
        veto: [ "Inc", "chocolate" ]
        window: 20
        reason: "the confectioner"
      }
    }
    terms {
      text: "galaxy"
      senses {
        require: [ "telescope", "stars" ]
        scope: SENSE_SCOPE_ARTICLE
      }
    }
    terms {
      text: "launch"
      weight: 0.5
      senses {
        require: [ "rocket", "orbit" ]
        scope: SENSE_SCOPE_SENTENCE
      }
    }
    terms { text: "rocket" }
    terms {
      text: "神舟"
      senses {
        require: [ "飞船" ]
        window: 6
      }
    }
  }
  topics {
    id: "biomedicine"
    label_en: "Biomedicine"
    label_zh: "生物医药"
    terms { text: "clinical trial" }
    terms { text: "patient" }
    aboutness { min_sentences: 2 }
    yields_to { topic: "bci" by_sentence: true reason: "bci trials are bci news" }
  }
  topics {
    id: "bci"
    label_en: "BCI"
    label_zh: "脑机接口"
    terms { text: "brain implant" }
  }
)pb";

class SenseRuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Classifier>> classifier =
        Classifier::FromText(kSenseTaxonomy, "sense.textproto");
    ASSERT_THAT(classifier, IsOk());
    classifier_ = *std::move(classifier);
  }
  std::vector<std::string> Topics(const std::string& title, const std::string& body) {
    v1::Article article;
    article.set_id("a1");
    article.set_title(title);
    article.set_body(body);
    std::vector<std::string> topics;
    const v1::TaggedArticle tagged = classifier_->Tag(article);
    for (const v1::Tag& tag : tagged.tags()) topics.push_back(tag.topic());
    return topics;
  }
  std::unique_ptr<Classifier> classifier_;
};

TEST_F(SenseRuleTest, VetoNearDropsTheMatchAndKeepsTheRealSense) {
  EXPECT_THAT(Topics("Mars Inc. buys a snack maker", ""), IsEmpty());
  EXPECT_THAT(Topics("", "The new bar from Mars is mostly chocolate."), IsEmpty());
  EXPECT_THAT(Topics("Water once flowed on Mars", ""), ElementsAre("space"));
  // The veto word is outside the window: the match counts.
  EXPECT_THAT(Topics("Mars", "A long way from here, somebody is eating chocolate."),
              ElementsAre("space"));
}

TEST_F(SenseRuleTest, RequireInArticleAndSentence) {
  EXPECT_THAT(Topics("Galaxy win again", "The team scored twice."), IsEmpty());
  EXPECT_THAT(Topics("A galaxy far away", "The telescope saw it."), ElementsAre("space"));
  // "launch" (0.5) counts only with a rocket or an orbit in its sentence.
  EXPECT_THAT(Topics("", "The launch went well. The rocket is ready."),
              ElementsAre("space"));  // only "rocket" counts
  v1::Article article;
  article.set_body("The campaign launch drew crowds. Then a rocket test.");
  const std::vector<Classifier::TopicDecision> decisions = classifier_->Explain(article);
  ASSERT_EQ(decisions.size(), 1u);
  ASSERT_EQ(decisions[0].vetoed.size(), 1u);
  EXPECT_EQ(decisions[0].vetoed[0].evidence.matched_text(), "launch");
  EXPECT_THAT(decisions[0].vetoed[0].rule, HasSubstr("required context missing"));
}

TEST_F(SenseRuleTest, ChineseContextMatchesBothScripts) {
  EXPECT_THAT(Topics("神舟笔记本发布", ""), IsEmpty());
  EXPECT_THAT(Topics("神舟飞船发射", ""), ElementsAre("space"));
  EXPECT_THAT(Topics("神舟飛船發射", ""), ElementsAre("space"));
}

TEST_F(SenseRuleTest, AboutnessGateDropsAPassingMentionAndExplainsWhy) {
  EXPECT_THAT(Topics("Council budget", "He mentioned a clinical trial once. Then roads."),
              IsEmpty());
  EXPECT_THAT(Topics("Council budget", "A clinical trial began. Each patient gets a dose."),
              ElementsAre("biomedicine"));
  EXPECT_THAT(Topics("Clinical trial begins", ""), ElementsAre("biomedicine"));
  v1::Article article;
  article.set_body("He mentioned a clinical trial once. Then roads.");
  const std::vector<Classifier::TopicDecision> decisions = classifier_->Explain(article);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_FALSE(decisions[0].tagged);
  EXPECT_TRUE(decisions[0].passes_threshold);
  EXPECT_FALSE(decisions[0].passes_aboutness);
  EXPECT_THAT(decisions[0].why_not, HasSubstr("1 sentence(s) < 2"));
}

TEST_F(SenseRuleTest, TopicYieldsToItsConvention) {
  EXPECT_THAT(Topics("Brain implant clinical trial", ""), ElementsAre("bci"));
  v1::Article article;
  article.set_title("Brain implant clinical trial");
  const std::vector<Classifier::TopicDecision> decisions = classifier_->Explain(article);
  ASSERT_EQ(decisions.size(), 2u);
  for (const Classifier::TopicDecision& decision : decisions) {
    if (decision.tag.topic() != "biomedicine") continue;
    EXPECT_FALSE(decision.tagged);
    EXPECT_THAT(decision.why_not, HasSubstr("yields to bci"));
  }
}

TEST(SenseRuleParseTest, MalformedRulesAreRefused) {
  for (const char* bad : {
           R"pb(topics {
                  id: "x"
                  label_en: "X"
                  terms {
                    text: "a"
                    senses { reason: "r" }
                  }
                })pb",
           R"pb(topics {
                  id: "x"
                  terms {
                    text: "a"
                    senses { veto: "b" require: "c" }
                  }
                })pb",
           R"pb(topics {
                  id: "x"
                  terms {
                    text: "a"
                    senses { veto: "b" window: -1 }
                  }
                })pb",
           R"pb(topics {
                  id: "x"
                  terms {
                    text: "a"
                    senses { veto: " " }
                  }
                })pb",
           R"pb(topics {
                  id: "x"
                  terms { text: "a" }
                  yields_to { topic: "nope" }
                })pb",
           R"pb(topics {
                  id: "x"
                  terms { text: "a" }
                  yields_to { topic: "x" }
                })pb",
           R"pb(topics {
                  id: "x"
                  terms { text: "a" }
                  aboutness { min_sentences: -1 }
                })pb",
       }) {
    EXPECT_THAT(Classifier::FromText(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

}  // namespace
}  // namespace topicwire::classify
