// `topicwire deadletters` against a fake ingest admin endpoint (a ROUTER on a loopback port that
// records the request and answers a canned AdminReply). The stage side of the admin protocol is
// tested in tests/ingest/ingest_stage_test.cc.
#include "cli/deadletters.h"

#include <future>
#include <sstream>
#include <string>

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
  EXPECT_EQ(Run({"deadletters", "--help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("--admin"));
}

}  // namespace
}  // namespace topicwire::cli
