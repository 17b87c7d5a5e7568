// The chaos verdict: lost and duplicated must be computed right, or a chaos run proves nothing.
#include "chaos/verify.h"

#include "chaos/chaos.h"
#include "chaos/metrics_scrape.h"
#include "chaos/publisher.h"
#include "tests/testing/prelude.h"

namespace topicwire::chaos {
namespace {

using namespace ::topicwire::testing::prelude;

// Three accepted articles, each stored once and published once on its own stream.
VerifyInput CleanRun() {
  VerifyInput input;
  input.accepted = {"a", "b", "c"};
  input.stored = {{"a", 1}, {"b", 2}, {"c", 3}};
  input.history = {
      {"a", 1, "ai", 1}, {"b", 2, "ai", 2}, {"b", 2, "quantum", 1}, {"c", 3, "untagged", 1}};
  input.live = input.history;
  return input;
}

TEST(VerifyTest, CleanRunHasNothingLostOrDuplicated) {
  const ChaosReport::Verification result = Verify(CleanRun());
  EXPECT_EQ(result.stored(), 3u);
  EXPECT_EQ(result.lost(), 0u);
  EXPECT_EQ(result.duplicated(), 0u);
  EXPECT_EQ(result.stored_not_accepted(), 0u);
  EXPECT_EQ(result.live_copies(), 4u);
  EXPECT_EQ(result.filled_from_history(), 0u);
  EXPECT_THAT(result.stream_problems(), IsEmpty());
}

TEST(VerifyTest, AcceptedIdMissingFromTheStoreIsLost) {
  VerifyInput input = CleanRun();
  input.accepted.insert("d");
  const ChaosReport::Verification result = Verify(input);
  EXPECT_EQ(result.lost(), 1u);
  EXPECT_THAT(result.lost_examples(), ElementsAre("d"));
  EXPECT_EQ(result.duplicated(), 0u);
}

TEST(VerifyTest, IdStoredUnderTwoSequencesIsDuplicated) {
  VerifyInput input = CleanRun();
  input.stored.push_back({"b", 4});
  input.history.push_back({"b", 4, "ai", 3});
  const ChaosReport::Verification result = Verify(input);
  EXPECT_EQ(result.duplicated(), 1u);
  EXPECT_THAT(result.duplicated_examples(), ElementsAre("b"));
  EXPECT_EQ(result.lost(), 0u);
}

TEST(VerifyTest, RepeatedStoreRowIsDuplicated) {
  VerifyInput input = CleanRun();
  input.stored.push_back({"a", 1});
  EXPECT_EQ(Verify(input).duplicated(), 1u);
}

TEST(VerifyTest, ArticlePublishedTwiceOnOneStreamIsDuplicated) {
  VerifyInput input = CleanRun();
  input.history.push_back({"a", 1, "ai", 3});
  const ChaosReport::Verification result = Verify(input);
  EXPECT_EQ(result.duplicated(), 1u);
  EXPECT_THAT(result.duplicated_examples(), ElementsAre("a"));
}

TEST(VerifyTest, CopyReceivedTwiceLiveIsDuplicated) {
  VerifyInput input = CleanRun();
  input.live.push_back(input.live.front());
  const ChaosReport::Verification result = Verify(input);
  EXPECT_EQ(result.duplicated(), 1u);
  EXPECT_THAT(result.duplicated_examples(), ElementsAre("a"));
}

TEST(VerifyTest, MissedLiveCopiesAreFilledFromHistoryWithoutProblems) {
  VerifyInput input = CleanRun();
  input.live.erase(input.live.begin() + 1, input.live.begin() + 3);
  const ChaosReport::Verification result = Verify(input);
  EXPECT_EQ(result.filled_from_history(), 2u);
  EXPECT_EQ(result.duplicated(), 0u);
  EXPECT_THAT(result.stream_problems(), IsEmpty());
}

TEST(VerifyTest, HoleInAStreamIsAProblem) {
  VerifyInput input = CleanRun();
  input.history[1].stream_sequence = 5;
  input.live.clear();
  EXPECT_THAT(Verify(input).stream_problems(), ElementsAre(HasSubstr("'ai'")));
}

TEST(VerifyTest, StoredArticleNeverPublishedIsAProblem) {
  VerifyInput input = CleanRun();
  input.history.pop_back();
  input.live.clear();
  EXPECT_THAT(Verify(input).stream_problems(), ElementsAre(HasSubstr("never published")));
}

TEST(VerifyTest, LiveCopyThatDisagreesWithHistoryIsAProblem) {
  VerifyInput input = CleanRun();
  input.live[0].article_id = "c";
  EXPECT_THAT(Verify(input).stream_problems(), ElementsAre(HasSubstr("not in history")));
}

TEST(VerifyTest, StoredButNeverAcceptedIsCountedNotLost) {
  VerifyInput input = CleanRun();
  input.accepted.erase("c");
  const ChaosReport::Verification result = Verify(input);
  EXPECT_EQ(result.stored_not_accepted(), 1u);
  EXPECT_EQ(result.lost(), 0u);
}

TEST(JudgeTest, PassesOnlyWithoutLossOrDuplicates) {
  ChaosReport report;
  *report.mutable_verification() = Verify(CleanRun());
  Judge(report);
  EXPECT_TRUE(report.passed());
  EXPECT_THAT(report.failures(), IsEmpty());

  VerifyInput lossy = CleanRun();
  lossy.accepted.insert("d");
  lossy.stored.push_back({"a", 7});
  *report.mutable_verification() = Verify(lossy);
  Judge(report);
  EXPECT_FALSE(report.passed());
  EXPECT_THAT(report.failures(), ElementsAre(HasSubstr("1 accepted articles are not in the store"),
                                             HasSubstr("1 articles were stored or published")));
  EXPECT_THAT(FormatReport(report), HasSubstr("FAILED"));
}

TEST(JudgeTest, UnansweredArticlesAndUncleanStopsFail) {
  ChaosReport report;
  report.mutable_publishing()->set_unanswered(2);
  report.mutable_chaos()->add_unclean_stops("sink: exited with 1 after SIGTERM");
  Judge(report);
  EXPECT_FALSE(report.passed());
  EXPECT_EQ(report.failures_size(), 2);
}

TEST(FindMetricTest, FindsExactNameOnly) {
  const char kPage[] =
      "# HELP topicwire_ingest_redeliveries_total Dispatches repeated\n"
      "# TYPE topicwire_ingest_redeliveries_total counter\n"
      "topicwire_ingest_redeliveries_total_extra 9\n"
      "topicwire_ingest_redeliveries_total 42\n";
  EXPECT_EQ(FindMetric(kPage, "topicwire_ingest_redeliveries_total"), 42.0);
  EXPECT_EQ(FindMetric(kPage, "topicwire_sink_articles_duplicate_total"), std::nullopt);
}

TEST(MakeChaosArticleTest, SameIndexGivesSameArticle) {
  PublisherOptions options;
  options.id_prefix = "chaos-7-";
  options.article_bytes = 300;
  const v1::Article first = MakeChaosArticle(options, 12);
  EXPECT_EQ(first.id(), "chaos-7-12");
  EXPECT_GE(first.body().size(), 300u);
  EXPECT_EQ(first.SerializeAsString(), MakeChaosArticle(options, 12).SerializeAsString());
  EXPECT_NE(first.body(), MakeChaosArticle(options, 13).body());
}

}  // namespace
}  // namespace topicwire::chaos
