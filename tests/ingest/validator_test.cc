#include "ingest/validator.h"

#include <string>

#include "ingest/utf8.h"
#include "tests/testing/articles.h"
#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

using namespace ::topicwire::testing::prelude;
using ::topicwire::testing::MakeArticle;

std::optional<Rejection> Validate(const v1::Article& article, int64_t limit = 1 << 20) {
  return ValidateArticle(article, article.ByteSizeLong(), {.max_article_bytes = limit});
}

TEST(Utf8Test, AcceptsAsciiChineseAndEmoji) {
  EXPECT_EQ(FirstInvalidUtf8Byte("plain"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8Byte("量子计算 🚀"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8Byte(""), std::nullopt);
}

TEST(Utf8Test, PointsAtTheFirstBadByte) {
  EXPECT_THAT(FirstInvalidUtf8Byte("abc\xff"), Optional(3u));
  EXPECT_THAT(FirstInvalidUtf8Byte("\xc3"), Optional(0u));              // truncated
  EXPECT_THAT(FirstInvalidUtf8Byte("ok\xc0\xaf"), Optional(2u));        // overlong '/'
  EXPECT_THAT(FirstInvalidUtf8Byte("x\xed\xa0\x80"), Optional(1u));     // surrogate
  EXPECT_THAT(FirstInvalidUtf8Byte("\xf4\x90\x80\x80"), Optional(0u));  // above U+10FFFF
  EXPECT_THAT(FirstInvalidUtf8Byte("量\xe5\x90"), Optional(3u));
}

TEST(ValidatorTest, HeadlineOnlyAndBodyOnlyAreValid) {
  EXPECT_EQ(Validate(MakeArticle(/*id=*/"", "Quantum chip ships", "")), std::nullopt);
  EXPECT_EQ(Validate(MakeArticle(/*id=*/"", "", "A body without a headline.")), std::nullopt);
}

TEST(ValidatorTest, NeitherTitleNorBodyIsEmpty) {
  v1::Article article;
  article.set_source("xinhua");
  std::optional<Rejection> rejection = Validate(article);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->kind, RejectKind::kEmpty);
  EXPECT_THAT(rejection->reason, HasSubstr("neither a title nor a body"));
}

TEST(ValidatorTest, OversizedArticleNamesBothSizesAndTheFlag) {
  const v1::Article article = MakeArticle(/*id=*/"", "t", std::string(2000, 'x'));
  std::optional<Rejection> rejection =
      ValidateArticle(article, 2097152, {.max_article_bytes = 1048576});
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->kind, RejectKind::kTooLarge);
  EXPECT_THAT(rejection->reason, HasSubstr("article is 2097152 bytes, over the 1048576-byte limit "
                                           "(--max_article_bytes)"));
}

TEST(ValidatorTest, ArticleExactlyAtTheLimitIsValid) {
  const v1::Article article = MakeArticle(/*id=*/"", "t", std::string(100, 'x'));
  const int64_t size = static_cast<int64_t>(article.ByteSizeLong());
  EXPECT_EQ(Validate(article, size), std::nullopt);
  EXPECT_NE(Validate(article, size - 1), std::nullopt);
}

TEST(ValidatorTest, InvalidUtf8NamesFieldAndByte) {
  v1::Article article = MakeArticle(/*id=*/"", "ok", "fine");
  article.add_authors("Ann");
  article.add_authors("B\xffob");
  std::optional<Rejection> rejection = Validate(article);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->kind, RejectKind::kUtf8);
  EXPECT_THAT(rejection->reason, HasSubstr("field 'authors[1]' is not valid UTF-8 at byte 1"));
}

TEST(ValidatorTest, UrlMustBeAbsoluteHttpWithHost) {
  for (const char* bad : {"example.com/a", "ftp://example.com/a", "https:///path", "http://",
                          "https://exa mple.com/", "javascript://x"}) {
    v1::Article article = MakeArticle(/*id=*/"", "t", "b");
    article.set_url(bad);
    std::optional<Rejection> rejection = Validate(article);
    ASSERT_TRUE(rejection.has_value()) << bad;
    EXPECT_EQ(rejection->kind, RejectKind::kBadUrl) << bad;
    EXPECT_THAT(rejection->reason, HasSubstr(bad));
  }
  for (const char* good :
       {"https://example.com", "HTTP://Example.com:8080/a?b=c#d", "https://user@[::1]:443/x"}) {
    v1::Article article = MakeArticle(/*id=*/"", "t", "b");
    article.set_url(good);
    EXPECT_EQ(Validate(article), std::nullopt) << good;
  }
}

TEST(ValidatorTest, IdMustBeShortAndPrintable) {
  v1::Article article = MakeArticle(/*id=*/"", "t", "b");
  article.set_id(std::string(kMaxIdBytes, 'a'));
  EXPECT_EQ(Validate(article), std::nullopt);
  article.set_id(std::string(kMaxIdBytes + 1, 'a'));
  std::optional<Rejection> rejection = Validate(article);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->kind, RejectKind::kBadId);
  EXPECT_THAT(rejection->reason, HasSubstr("257 bytes, over the 256-byte limit"));
  article.set_id("line\nbreak");
  rejection = Validate(article);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->kind, RejectKind::kBadId);
  EXPECT_THAT(rejection->reason, HasSubstr("control character at byte 4"));
}

TEST(ValidatorTest, LenientArticleReportsTheBrokenField) {
  lenient::LenientArticle article;
  article.set_title("0123456789abcdef\xfe");
  article.set_body("\xff");
  std::optional<Rejection> rejection = FindInvalidUtf8(article);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->kind, RejectKind::kUtf8);
  EXPECT_THAT(rejection->reason, HasSubstr("field 'title' is not valid UTF-8 at byte 16"));
  article.set_title("fine");
  article.set_body("fine");
  EXPECT_EQ(FindInvalidUtf8(article), std::nullopt);
}

TEST(ValidatorTest, LabelsMatchTheMetric) {
  EXPECT_EQ(RejectKindLabel(RejectKind::kEmpty), "empty");
  EXPECT_EQ(RejectKindLabel(RejectKind::kUtf8), "utf8");
  EXPECT_EQ(RejectKindLabel(RejectKind::kTooLarge), "too_large");
  EXPECT_EQ(RejectKindLabel(RejectKind::kBadUrl), "bad_url");
  EXPECT_EQ(RejectKindLabel(RejectKind::kBadId), "bad_id");
  EXPECT_EQ(RejectKindLabel(RejectKind::kMalformed), "malformed_frame");
}

}  // namespace
}  // namespace topicwire::ingest
