// `topicwire deadletters` against a fake ingest admin endpoint (a ROUTER on a loopback port that
// records the request and answers a canned AdminReply). The stage side of the admin protocol is
// tested in tests/ingest/ingest_stage_test.cc.
#include "cli/deadletters.h"

#include <future>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "common/zmq_channel.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testing/prelude.h"
#include "tests/testing/zmq_test_util.h"

namespace topicwire::cli {
namespace {

using namespace ::topicwire::testing::prelude;

class DeadLettersCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(ConfigureSocket(router_, 0), IsOk());
    endpoint_ = testing::BindLoopback(router_);
  }

  // Answers the next request with `reply` and returns the request.
  std::future<v1::AdminRequest> ServeOnce(v1::AdminReply reply) {
    return std::async(std::launch::async, [this, reply] {
      v1::AdminRequest request;
      router_.set(zmq::sockopt::rcvtimeo, 5000);
      Frames frames;
      absl::StatusOr<bool> got = RecvFrames(router_, frames);
      if (!got.ok() || !*got) return request;
      EXPECT_THAT(ParseFrame(frames.back(), request), IsOk());
      frames.back() = ToFrame(reply);
      EXPECT_THAT(SendFrames(router_, frames), IsOk());
      return request;
    });
  }

  // Answers the next requests with `replies`, in order, and returns the requests.
  std::future<std::vector<v1::AdminRequest>> ServePages(std::vector<v1::AdminReply> replies) {
    return std::async(std::launch::async, [this, replies] {
      std::vector<v1::AdminRequest> requests;
      router_.set(zmq::sockopt::rcvtimeo, 5000);
      for (const v1::AdminReply& reply : replies) {
        Frames frames;
        absl::StatusOr<bool> got = RecvFrames(router_, frames);
        if (!got.ok() || !*got) break;
        EXPECT_THAT(ParseFrame(frames.back(), requests.emplace_back()), IsOk());
        frames.back() = ToFrame(reply);
        EXPECT_THAT(SendFrames(router_, frames), IsOk());
      }
      return requests;
    });
  }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return RunCli(args, CommandIo{.in = in_, .out = out_, .err = err_});
  }

  zmq::context_t context_;
  zmq::socket_t router_{context_, zmq::socket_type::router};
  std::string endpoint_;
  std::istringstream in_;
  std::ostringstream out_, err_;
};

v1::AdminReply TwoDeadLetters() {
  v1::AdminReply reply;
  auto* list = reply.mutable_list_dead_letters();
  v1::DeadLetter* first = list->add_dead_letters();
  first->set_id("poison-1");
  first->set_title("Crashes the classifier");
  first->set_attempts(5);
  first->set_last_reason("worker 01ab failed it: boom");
  first->mutable_last_attempt()->set_seconds(1700000000);
  list->add_dead_letters()->set_id("poison-2");
  return reply;
}

TEST_F(DeadLettersCommandTest, ListPrintsOneLinePerDeadLetter) {
  auto served = ServeOnce(TwoDeadLetters());
  EXPECT_EQ(Run({"deadletters", "list", "--admin", endpoint_}), kExitOk) << err_.str();
  EXPECT_TRUE(served.get().has_list_dead_letters());
  EXPECT_THAT(out_.str(), HasSubstr("poison-1\t5 attempts\tlast 2023-11-14T22:13:20Z\t"
                                    "Crashes the classifier\t(worker 01ab failed it: boom)\n"));
  EXPECT_THAT(out_.str(), HasSubstr("poison-2\t0 attempts"));
  EXPECT_THAT(err_.str(), HasSubstr("2 dead letter(s)"));
}

TEST_F(DeadLettersCommandTest, ListAsJsonPrintsOnlyJsonLinesOnStdout) {
  auto served = ServeOnce(TwoDeadLetters());
  EXPECT_EQ(Run({"deadletters", "list", "--format=json", "--admin=" + endpoint_}), kExitOk);
  served.get();
  std::istringstream lines(out_.str());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    v1::DeadLetter parsed;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok()) << line;
    ++count;
  }
  EXPECT_EQ(count, 2);
}

TEST_F(DeadLettersCommandTest, ReplaySendsTheIdsAndFailsOnUnknownOnes) {
  v1::AdminReply reply;
  reply.mutable_replay_dead_letters()->set_replayed(1);
  reply.mutable_replay_dead_letters()->add_unknown_ids("nope");
  auto served = ServeOnce(reply);
  EXPECT_EQ(Run({"deadletters", "replay", "poison-1", "nope", "--admin", endpoint_}), kExitFailed);
  const v1::AdminRequest request = served.get();
  EXPECT_THAT(request.replay_dead_letters().ids(), ElementsAre("poison-1", "nope"));
  EXPECT_FALSE(request.replay_dead_letters().all());
  EXPECT_EQ(out_.str(), "replayed 1\n");
  EXPECT_THAT(err_.str(), HasSubstr("'nope' is not a dead letter"));
}

TEST_F(DeadLettersCommandTest, ReplayAll) {
  v1::AdminReply reply;
  reply.mutable_replay_dead_letters()->set_replayed(7);
  auto served = ServeOnce(reply);
  EXPECT_EQ(Run({"deadletters", "replay", "--all", "--admin", endpoint_}), kExitOk);
  EXPECT_TRUE(served.get().replay_dead_letters().all());
  EXPECT_EQ(out_.str(), "replayed 7\n");
}

// A page of list reply: dead letters `first`..`last` (journal_seq = n, id "dl-n").
v1::AdminReply ListPage(int first, int last, uint64_t next_after_seq, uint64_t total) {
  v1::AdminReply reply;
  auto* list = reply.mutable_list_dead_letters();
  for (int n = first; n <= last; ++n) {
    v1::DeadLetter* letter = list->add_dead_letters();
    letter->set_id(absl::StrCat("dl-", n));
    letter->set_journal_seq(n);
  }
  list->set_next_after_seq(next_after_seq);
  list->set_total(total);
  return reply;
}

TEST_F(DeadLettersCommandTest, ListPagesThroughWithTheCursor) {
  auto served = ServePages({ListPage(1, 2, 2, 5), ListPage(3, 4, 4, 5), ListPage(5, 5, 0, 5)});
  EXPECT_EQ(Run({"deadletters", "list", "--page-size", "2", "--admin", endpoint_}), kExitOk)
      << err_.str();
  const std::vector<v1::AdminRequest> requests = served.get();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].list_dead_letters().after_seq(), 0u);
  EXPECT_EQ(requests[1].list_dead_letters().after_seq(), 2u);
  EXPECT_EQ(requests[2].list_dead_letters().after_seq(), 4u);
  for (const v1::AdminRequest& request : requests) {
    EXPECT_EQ(request.list_dead_letters().page_size(), 2u);
  }
  for (int n = 1; n <= 5; ++n) EXPECT_THAT(out_.str(), HasSubstr(absl::StrCat("dl-", n, "\t")));
  EXPECT_THAT(err_.str(), HasSubstr("5 dead letter(s)"));
}

TEST_F(DeadLettersCommandTest, ListStopsAtTheLimit) {
  auto served = ServePages({ListPage(1, 2, 2, 5), ListPage(3, 3, 3, 5)});
  EXPECT_EQ(Run({"deadletters", "list", "--limit", "3", "--page-size", "2", "--admin", endpoint_}),
            kExitOk)
      << err_.str();
  const std::vector<v1::AdminRequest> requests = served.get();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].list_dead_letters().page_size(), 1u) << "only what the limit leaves";
  EXPECT_THAT(out_.str(), Not(HasSubstr("dl-4")));
  EXPECT_THAT(err_.str(), HasSubstr("3 dead letter(s) of 5"));
}

TEST_F(DeadLettersCommandTest, ReplayAllGoesAPagePerRequest) {
  std::vector<v1::AdminReply> replies(3);
  replies[0].mutable_replay_dead_letters()->set_replayed(2);
  replies[0].mutable_replay_dead_letters()->set_next_after_seq(20);
  replies[1].mutable_replay_dead_letters()->set_replayed(2);
  replies[1].mutable_replay_dead_letters()->set_next_after_seq(40);
  replies[2].mutable_replay_dead_letters()->set_replayed(1);
  auto served = ServePages(replies);
  EXPECT_EQ(Run({"deadletters", "replay", "--all", "--page-size", "2", "--admin", endpoint_}),
            kExitOk)
      << err_.str();
  const std::vector<v1::AdminRequest> requests = served.get();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_TRUE(requests[0].replay_dead_letters().all());
  EXPECT_EQ(requests[0].replay_dead_letters().page_size(), 2u)
      << "a page size, so that ingest answers each page";
  EXPECT_EQ(requests[1].replay_dead_letters().after_seq(), 20u);
  EXPECT_EQ(requests[2].replay_dead_letters().after_seq(), 40u);
  EXPECT_EQ(out_.str(), "replayed 5\n");
}

TEST_F(DeadLettersCommandTest, ReplayOfManyIdsSendsThemInPages) {
  std::vector<v1::AdminReply> replies(2);
  replies[0].mutable_replay_dead_letters()->set_replayed(2);
  replies[1].mutable_replay_dead_letters()->set_replayed(0);
  replies[1].mutable_replay_dead_letters()->add_unknown_ids("c");
  auto served = ServePages(replies);
  EXPECT_EQ(Run({"deadletters", "replay", "a", "b", "c", "--page-size", "2", "--admin", endpoint_}),
            kExitFailed);
  const std::vector<v1::AdminRequest> requests = served.get();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(requests[0].replay_dead_letters().ids(), ElementsAre("a", "b"));
  EXPECT_THAT(requests[1].replay_dead_letters().ids(), ElementsAre("c"));
  EXPECT_EQ(out_.str(), "replayed 2\n");
  EXPECT_THAT(err_.str(), HasSubstr("'c' is not a dead letter"));
}

TEST_F(DeadLettersCommandTest, IngestErrorsAndSilenceAreReported) {
  v1::AdminReply reply;
  reply.set_error("journal is on fire");
  auto served = ServeOnce(reply);
  EXPECT_EQ(Run({"deadletters", "list", "--admin", endpoint_}), kExitUsage);
  served.get();
  EXPECT_THAT(err_.str(), HasSubstr("journal is on fire"));

  // Nobody answers: a bounded wait, then an actionable message.
  EXPECT_EQ(Run({"deadletters", "list", "--admin", endpoint_, "--timeout", "0.2"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("no answer from ingest's admin endpoint"));
}

TEST_F(DeadLettersCommandTest, BadArgumentsAreUsageErrors) {
  EXPECT_EQ(Run({"deadletters"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("'list' or 'replay'"));
  EXPECT_EQ(Run({"deadletters", "replay", "--admin", endpoint_}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--all or article ids"));
  EXPECT_EQ(Run({"deadletters", "replay", "--all", "x", "--admin", endpoint_}), kExitUsage);
  EXPECT_EQ(Run({"deadletters", "list", "x"}), kExitUsage);
  EXPECT_EQ(Run({"deadletters", "list", "--page-size", "0"}), kExitUsage);
  EXPECT_EQ(Run({"deadletters", "list", "--limit", "-1"}), kExitUsage);
  EXPECT_EQ(Run({"deadletters", "--help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("--admin"));
}

}  // namespace
}  // namespace topicwire::cli
