#include "cli/article_reader.h"

#include <fstream>
#include <sstream>

#include "tests/testing/prelude.h"

namespace topicwire::cli {
namespace {

using namespace ::topicwire::testing::prelude;

TEST(ArticleReaderTest, FormatFollowsTheFileName) {
  EXPECT_EQ(FormatForName("a/feed.jsonl"), InputFormat::kJsonLines);
  EXPECT_EQ(FormatForName("x.NDJSON"), InputFormat::kJsonLines);
  EXPECT_EQ(FormatForName("x.json"), InputFormat::kJson);
  EXPECT_EQ(FormatForName("notes.md"), InputFormat::kText);
  EXPECT_EQ(FormatForName("notes.txt"), InputFormat::kText);
  EXPECT_EQ(FormatForName("-"), InputFormat::kSniff);
}

TEST(ArticleReaderTest, JsonLinesIgnoresUnknownFieldsAndRecordsLines) {
  const std::string content =
      "{\"id\": \"a1\", \"title\": \"T1\", \"labels\": [\"ai\"], \"lang\": \"en\"}\n"
      "\n"
      "{\"id\": \"a2\", \"body\": \"B2\", \"publishedAt\": \"2025-03-27T09:00:00Z\"}\n";
  absl::StatusOr<std::vector<SourcedArticle>> articles =
      ParseArticles(content, "feed.jsonl", InputFormat::kJsonLines);
  ASSERT_THAT(articles, IsOk());
  ASSERT_THAT(*articles, SizeIs(2));
  EXPECT_EQ((*articles)[0].article.id(), "a1");
  EXPECT_EQ((*articles)[0].article.title(), "T1");
  EXPECT_EQ((*articles)[0].origin, "feed.jsonl:1");
  EXPECT_EQ((*articles)[1].article.body(), "B2");
  EXPECT_EQ((*articles)[1].article.published_at().seconds(), 1743066000);
  EXPECT_EQ((*articles)[1].origin, "feed.jsonl:3");
}

TEST(ArticleReaderTest, JsonLinesErrorNamesFileAndLine) {
  const std::string content = "{\"id\": \"a1\"}\n{\"id\": \"a2\",\n{\"id\": \"a3\"}\n";
  EXPECT_THAT(ParseArticles(content, "feed.jsonl", InputFormat::kJsonLines),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("feed.jsonl:2: ")));
}

TEST(ArticleReaderTest, WrongFieldTypeIsAnError) {
  EXPECT_THAT(ParseArticles("{\"title\": 5}\n", "x.jsonl", InputFormat::kJsonLines),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x.jsonl:1")));
}

TEST(ArticleReaderTest, JsonArrayAndSingleObject) {
  absl::StatusOr<std::vector<SourcedArticle>> array = ParseArticles(
      "[{\"id\": \"a\", \"title\": \"A\"}, {\"id\": \"b\", \"title\": \"B\", \"extra\": 1}]",
      "x.json", InputFormat::kJson);
  ASSERT_THAT(array, IsOk());
  ASSERT_THAT(*array, SizeIs(2));
  EXPECT_EQ((*array)[1].article.id(), "b");
  EXPECT_EQ((*array)[1].origin, "x.json[1]");

  absl::StatusOr<std::vector<SourcedArticle>> single = ParseArticles(
      "{\n  \"id\": \"one\",\n  \"title\": \"Pretty\"\n}\n", "y.json", InputFormat::kJson);
  ASSERT_THAT(single, IsOk());
  ASSERT_THAT(*single, SizeIs(1));
  EXPECT_EQ((*single)[0].article.title(), "Pretty");

  EXPECT_THAT(ParseArticles("[{\"id\": ]", "bad.json", InputFormat::kJson),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.json: ")));
}

TEST(ArticleReaderTest, SniffingReadsEveryJsonShape) {
  for (const char* content :
       {"[{\"title\": \"A\"}]", "{\"title\": \"A\"}", "{\"title\": \"A\"}\n{\"title\": \"B\"}\n"}) {
    absl::StatusOr<std::vector<SourcedArticle>> articles =
        ParseArticles(content, "<stdin>", InputFormat::kSniff);
    ASSERT_THAT(articles, IsOk()) << content;
    EXPECT_EQ((*articles)[0].article.title(), "A");
  }
  EXPECT_THAT(ParseArticles("just words", "<stdin>", InputFormat::kSniff),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("*.txt or *.md")));
}

TEST(ArticleReaderTest, MarkdownTitleIsTheFirstLineWithoutHashes) {
  absl::StatusOr<std::vector<SourcedArticle>> articles = ParseArticles(
      "\n# Quantum chips ship\n\nFirst paragraph.\n\nSecond.\n", "post.md", InputFormat::kText);
  ASSERT_THAT(articles, IsOk());
  ASSERT_THAT(*articles, SizeIs(1));
  EXPECT_EQ((*articles)[0].article.title(), "Quantum chips ship");
  EXPECT_EQ((*articles)[0].article.body(), "First paragraph.\n\nSecond.");
  EXPECT_EQ((*articles)[0].article.id(), "");

  absl::StatusOr<std::vector<SourcedArticle>> headline =
      ParseArticles("Only a headline", "h.txt", InputFormat::kText);
  ASSERT_THAT(headline, IsOk());
  EXPECT_EQ((*headline)[0].article.title(), "Only a headline");
  EXPECT_EQ((*headline)[0].article.body(), "");

  EXPECT_THAT(ParseArticles(" \n\n", "empty.txt", InputFormat::kText),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty.txt: empty file")));
}

TEST(ArticleReaderTest, ReadsFilesAndStdin) {
  const std::string dir = topicwire::testing::MakeTempDir();
  const std::string path = dir + "/note.txt";
  std::ofstream(path) << "Title line\nBody line\n";
  std::istringstream no_stdin;
  absl::StatusOr<std::vector<SourcedArticle>> from_file = ReadArticles(path, no_stdin);
  ASSERT_THAT(from_file, IsOk());
  EXPECT_EQ((*from_file)[0].article.title(), "Title line");
  EXPECT_EQ((*from_file)[0].origin, path);

  std::istringstream stdin_stream("{\"id\": \"s1\", \"title\": \"From stdin\"}\n");
  absl::StatusOr<std::vector<SourcedArticle>> from_stdin = ReadArticles("-", stdin_stream);
  ASSERT_THAT(from_stdin, IsOk());
  EXPECT_EQ((*from_stdin)[0].article.id(), "s1");

  EXPECT_THAT(ReadArticles(dir + "/missing.jsonl", no_stdin),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.jsonl")));
}

TEST(ArticleReaderTest, ReadsTheLabelledDevSetWhenPresent) {
  const std::string path = testing::DevSetPath();
  if (!std::ifstream(path)) GTEST_SKIP() << path << " is not on this machine";
  std::istringstream no_stdin;
  absl::StatusOr<std::vector<SourcedArticle>> articles = ReadArticles(path, no_stdin);
  ASSERT_THAT(articles, IsOk());
  EXPECT_GT(articles->size(), 100u);
  for (const SourcedArticle& article : *articles) EXPECT_FALSE(article.article.id().empty());
}

}  // namespace
}  // namespace topicwire::cli
