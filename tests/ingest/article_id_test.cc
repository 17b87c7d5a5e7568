#include "ingest/article_id.h"

#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

using namespace ::topicwire::testing::prelude;

TEST(CanonicalUrlTest, NormalizesWhatDoesNotChangeTheArticle) {
  EXPECT_EQ(CanonicalUrl("HTTPS://News.Example.COM:443/a/b/?utm_source=x&id=7&UTM_medium=y#top"),
            "https://news.example.com/a/b?id=7");
  EXPECT_EQ(CanonicalUrl("http://example.com:80/"), "http://example.com");
  EXPECT_EQ(CanonicalUrl("http://example.com:8080/Path"), "http://example.com:8080/Path");
  EXPECT_EQ(CanonicalUrl("https://example.com:80/x"), "https://example.com:80/x");
}

TEST(ArticleIdTest, SameUrlVariantsGiveOneId) {
  v1::Article a;
  a.set_url("https://example.com/story?utm_campaign=z");
  a.set_title("Title A");
  v1::Article b;
  b.set_url("https://EXAMPLE.com/story/#comments");
  b.set_title("A different title");
  EXPECT_EQ(DeriveArticleId(a), DeriveArticleId(b));
  EXPECT_THAT(DeriveArticleId(a), MatchesRegex("url-[0-9a-f]{32}"));
}

TEST(ArticleIdTest, IdIsStableAcrossRunsAndMachines) {
  // SHA-256("https://example.com/story") truncated to 128 bits: a fixed value, so a change of
  // hash or canonical form (which would break deduplication across upgrades) fails here.
  v1::Article article;
  article.set_url("https://example.com/story");
  EXPECT_EQ(DeriveArticleId(article), "url-ab116c15d8ac8b5285e0a8c70be0bf03");
}

TEST(ArticleIdTest, WithoutUrlTheContentDecides) {
  v1::Article a;
  a.set_title("ab");
  a.set_body("c");
  v1::Article b;
  b.set_title("a");
  b.set_body("bc");
  EXPECT_THAT(DeriveArticleId(a), MatchesRegex("txt-[0-9a-f]{32}"));
  EXPECT_NE(DeriveArticleId(a), DeriveArticleId(b));
  v1::Article a_again = a;
  a_again.set_source("another publisher");
  EXPECT_EQ(DeriveArticleId(a), DeriveArticleId(a_again));
}

}  // namespace
}  // namespace topicwire::ingest
