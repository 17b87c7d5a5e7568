// What the history endpoint accepts and how it turns a request into a store query; answering
// over real sockets is sink_stage_test's.
#include "sink/history_service.h"

#include <string>

#include "google/protobuf/util/time_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::sink {
namespace {

using ::google::protobuf::util::TimeUtil;
using namespace ::topicwire::testing::prelude;

TEST(ToHistoryQueryTest, DefaultsAndCapsTheLimitAndKeepsTheFilters) {
  const HistoryOptions options{.default_limit = 10, .max_limit = 50, .max_reply_bytes = 1000};
  v1::HistoryRequest request;
  request.set_after_sequence(7);
  request.add_topics("ai");
  request.add_topics("untagged");
  absl::StatusOr<HistoryQuery> query = ToHistoryQuery(request, options);
  ASSERT_THAT(query, IsOk());
  EXPECT_EQ(query->after_sequence, 7u);
  EXPECT_FALSE(query->since.has_value());
  EXPECT_THAT(query->streams, ElementsAre("ai", "untagged"));
  EXPECT_EQ(query->max_articles, 10u);
  EXPECT_EQ(query->max_bytes, 1000u);

  request.set_limit(500);
  query = ToHistoryQuery(request, options);
  ASSERT_THAT(query, IsOk());
  EXPECT_EQ(query->max_articles, 50u);
}

TEST(ToHistoryQueryTest, SinceTimeBecomesATime) {
  v1::HistoryRequest request;
  *request.mutable_since_time() = TimeUtil::SecondsToTimestamp(1'800'000'000);
  absl::StatusOr<HistoryQuery> query = ToHistoryQuery(request, HistoryOptions());
  ASSERT_THAT(query, IsOk());
  EXPECT_EQ(query->since, absl::FromUnixSeconds(1'800'000'000));
}

TEST(ToHistoryQueryTest, RefusesWhatItCannotAnswerWithAReason) {
  v1::HistoryRequest both;
  both.set_after_sequence(3);
  *both.mutable_since_time() = TimeUtil::SecondsToTimestamp(5);
  EXPECT_THAT(ToHistoryQuery(both, HistoryOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not both")));

  v1::HistoryRequest bad_time;
  bad_time.mutable_since_time()->set_nanos(-1);
  EXPECT_THAT(ToHistoryQuery(bad_time, HistoryOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a valid timestamp")));

  v1::HistoryRequest empty_topic;
  empty_topic.add_topics("");
  EXPECT_THAT(ToHistoryQuery(empty_topic, HistoryOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty topic")));

  v1::HistoryRequest many_topics;
  for (int i = 0; i < 3; ++i) many_topics.add_topics("t" + std::to_string(i));
  EXPECT_THAT(ToHistoryQuery(many_topics, HistoryOptions{.max_topics = 2}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too many topics (3)")));
}

}  // namespace
}  // namespace topicwire::sink
