// The bench's synthetic article mixes read as documented in bench/synthetic.h: the news mix is
// tagged with exactly the topics it was written about, and the dense mix stays dense.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/synthetic.h"
#include "classify/classifier.h"
#include "tests/testing/prelude.h"

namespace topicwire::bench {
namespace {

using namespace ::topicwire::testing::prelude;

constexpr int kArticles = 500;
constexpr size_t kArticleBytes = 3300;

class SyntheticArticlesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = classify::Classifier::FromFile(classify::DefaultTaxonomyPath());
    ASSERT_THAT(loaded, IsOk());
    classifier_ = *std::move(loaded);
  }

  std::unique_ptr<classify::Classifier> classifier_;
};

TEST_F(SyntheticArticlesTest, NewsArticlesCarryOnlyTheirPlannedTopics) {
  int64_t tags = 0;
  for (int n = 0; n < kArticles; ++n) {
    const v1::Article article = MakeSyntheticArticle("test", n, kArticleBytes, ArticleMix::kNews);
    // Every topic with any counted match, tagged or not: the neutral prose must match nothing.
    std::vector<std::string> matched;
    for (const v1::Tag& scored : classifier_->ScoreTopics(article))
      matched.push_back(scored.topic());
    const std::vector<std::string> planned = NewsTopicsOf(n);
    ASSERT_THAT(matched, UnorderedElementsAreArray(planned)) << "article " << n << ":\n"
                                                             << article.DebugString();
    const v1::TaggedArticle tagged = classifier_->Tag(article);
    if (tagged.tags_size() != static_cast<int>(planned.size())) {
      std::string why;
      for (const classify::Classifier::TopicDecision& decision : classifier_->Explain(article)) {
        if (!decision.tagged) absl::StrAppend(&why, decision.tag.topic(), ": ", decision.why_not);
      }
      FAIL() << "a planned topic was not tagged in article " << n << ": " << why << "\n"
             << article.DebugString();
    }
    tags += tagged.tags_size();
  }
  // The labelled dev set's tagger output: 0.84 tags per article.
  const double tags_per_article = static_cast<double>(tags) / kArticles;
  EXPECT_GT(tags_per_article, 0.74);
  EXPECT_LT(tags_per_article, 0.94);
}

TEST_F(SyntheticArticlesTest, DenseArticlesAreDenseInTopics) {
  int64_t tags = 0;
  for (int n = 0; n < 50; ++n) {
    tags += classifier_->Tag(MakeSyntheticArticle("test", n, kArticleBytes, ArticleMix::kDense))
                .tags_size();
  }
  EXPECT_GT(tags, 5 * 50);
}

TEST(SyntheticArticleSizeTest, BothMixesComeCloseToTheRequestedSize) {
  for (ArticleMix mix : {ArticleMix::kNews, ArticleMix::kDense}) {
    for (size_t bytes : {size_t{1000}, kArticleBytes, size_t{20000}}) {
      size_t total = 0;
      for (int n = 0; n < 100; ++n) {
        total += MakeSyntheticArticle("test", n, bytes, mix).ByteSizeLong();
      }
      const double mean = static_cast<double>(total) / 100;
      EXPECT_GT(mean, 0.9 * static_cast<double>(bytes)) << ArticleMixName(mix) << " " << bytes;
      EXPECT_LT(mean, 1.1 * static_cast<double>(bytes)) << ArticleMixName(mix) << " " << bytes;
    }
  }
}

TEST(SyntheticArticleSizeTest, ArticlesAreTheSameOnEveryCall) {
  for (ArticleMix mix : {ArticleMix::kNews, ArticleMix::kDense}) {
    EXPECT_EQ(MakeSyntheticArticle("a", 7, 3300, mix).SerializeAsString(),
              MakeSyntheticArticle("a", 7, 3300, mix).SerializeAsString());
    EXPECT_NE(MakeSyntheticArticle("a", 7, 3300, mix).body(),
              MakeSyntheticArticle("a", 8, 3300, mix).body());
  }
}

TEST(ArticleMixTest, NamesRoundTripAndUnknownNamesAreRefused) {
  for (ArticleMix mix : {ArticleMix::kNews, ArticleMix::kDense}) {
    absl::StatusOr<ArticleMix> parsed = ParseArticleMix(ArticleMixName(mix));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, mix);
  }
  EXPECT_THAT(ParseArticleMix("sparse").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("news (ordinary prose")));
}

}  // namespace
}  // namespace topicwire::bench
