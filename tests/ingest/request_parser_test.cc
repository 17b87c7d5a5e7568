#include "ingest/request_parser.h"

#include <string>

#include "ingest/lenient_publish.pb.h"
#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

using namespace ::topicwire::testing::prelude;

// Serializes a request through the lenient mirror, which (unlike v1::Article) can carry
// invalid UTF-8, exactly as a buggy publisher in another language would.
std::string FrameWithArticles(const std::vector<lenient::LenientArticle>& articles) {
  lenient::LenientPublishRequest request;
  for (const auto& article : articles) *request.add_articles() = article.SerializeAsString();
  return request.SerializeAsString();
}

TEST(RequestParserTest, ValidRequestParsesStrictly) {
  v1::PublishRequest request;
  request.add_articles()->set_title("one");
  request.add_articles()->set_body("two");
  absl::StatusOr<std::vector<IncomingArticle>> parsed =
      ParsePublishFrame(request.SerializeAsString());
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].article.title(), "one");
  EXPECT_EQ((*parsed)[1].article.body(), "two");
  EXPECT_EQ((*parsed)[1].serialized_bytes, request.articles(1).ByteSizeLong());
  EXPECT_FALSE((*parsed)[0].rejection.has_value());
}

TEST(RequestParserTest, BadUtf8RejectsOnlyThatArticle) {
  lenient::LenientArticle good;
  good.set_id("good-1");
  good.set_title("Fine title");
  lenient::LenientArticle bad;
  bad.set_id("bad-1");
  bad.set_title("0123456789abcdef\xc3(");
  absl::StatusOr<std::vector<IncomingArticle>> parsed =
      ParsePublishFrame(FrameWithArticles({good, bad}));
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_FALSE((*parsed)[0].rejection.has_value());
  EXPECT_EQ((*parsed)[0].article.title(), "Fine title");
  ASSERT_TRUE((*parsed)[1].rejection.has_value());
  EXPECT_EQ((*parsed)[1].rejection->kind, RejectKind::kUtf8);
  EXPECT_THAT((*parsed)[1].rejection->reason,
              HasSubstr("field 'title' is not valid UTF-8 at byte 16"));
  EXPECT_EQ((*parsed)[1].publisher_id, "bad-1");
}

TEST(RequestParserTest, GarbageIsAFrameErrorNamingTheType) {
  EXPECT_THAT(ParsePublishFrame("\xff\xff\xff not a proto"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bytes is not a valid topicwire.v1.PublishRequest")));
}

TEST(RequestParserTest, EmptyRequestIsAFrameError) {
  EXPECT_THAT(ParsePublishFrame(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no articles")));
}

TEST(RequestParserTest, MoreArticlesThanTheLimitIsAFrameErrorWithTheCountAndTheLimit) {
  v1::PublishRequest request;
  for (int i = 0; i < 6; ++i) request.add_articles()->set_title("headline");
  EXPECT_THAT(ParsePublishFrame(request.SerializeAsString(), /*max_articles=*/5),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("request holds 6 articles, more than the 5 one request may hold "
                                 "(--max_articles_per_request)")));
  absl::StatusOr<std::vector<IncomingArticle>> at_the_limit =
      ParsePublishFrame(request.SerializeAsString(), /*max_articles=*/6);
  ASSERT_THAT(at_the_limit, IsOk());
  EXPECT_EQ(at_the_limit->size(), 6u);
}

TEST(RequestParserTest, ArticlesWithInvalidUtf8CountTowardsTheLimit) {
  lenient::LenientArticle bad;
  bad.set_title("\xc3(");
  EXPECT_THAT(ParsePublishFrame(FrameWithArticles({bad, bad, bad}), /*max_articles=*/2),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("holds 3 articles")));
}

}  // namespace
}  // namespace topicwire::ingest
