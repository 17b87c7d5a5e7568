// The real `ingest` binary as a child process: what a crash (kill -9) and SIGTERM do to it.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "common/topology.h"
#include "common/zmq_channel.h"
#include "proto/article.pb.h"
#include "proto/internal.pb.h"
#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

using namespace ::topicwire::testing::prelude;

class IngestBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    journal_ = topology::JournalPath(dir_);
    const topology::PortPlan ports(FreeLoopbackPortRange(topology::PortPlan::PortCount(0)), 0);
    launch_ = {.ports = ports,
               .bin_dir = BinDir(),
               .data_dir = dir_,
               .http = false,
               .ingest_flags = {"--heartbeat_interval=100ms"}};
    publish_ = topology::ConnectAddress(ports, topology::Endpoint::kPublish, launch_.bind_host);
    work_ = topology::ConnectAddress(ports, topology::Endpoint::kWork, launch_.bind_host);
  }

  // ingest as the topology runs it, with its data (the journal: journal_) under `data_dir`.
  absl::StatusOr<Subprocess> StartIngest(const std::string& data_dir) {
    topology::LaunchOptions launch = launch_;
    launch.data_dir = data_dir;
    return Subprocess::Start(topology::IngestCommand(launch).argv, dir_ + "/ingest.log");
  }
  absl::StatusOr<Subprocess> StartIngest() { return StartIngest(dir_); }

  std::unique_ptr<zmq::socket_t> Connected(zmq::socket_type type, const std::string& endpoint) {
    auto socket = std::make_unique<zmq::socket_t>(context_, type);
    EXPECT_THAT(ConfigureSocket(*socket, 0), IsOk());
    socket->set(zmq::sockopt::rcvtimeo, 10000);  // includes the child's start-up
    EXPECT_THAT(Connect(*socket, endpoint), IsOk());
    return socket;
  }

  // Publishes one article titled `title`; `status` gets ingest's answer for it.
  void PublishOne(const std::string& title, v1::PublishAck::Status& status) {
    auto publisher = Connected(zmq::socket_type::dealer, publish_);
    v1::PublishRequest request;
    request.add_articles()->set_title(title);
    ASSERT_THAT(SendProto(*publisher, request), IsOk());
    Frames reply;
    absl::StatusOr<bool> got = RecvFrames(*publisher, reply);
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(*got) << "no reply from ingest; see " << dir_ << "/ingest.log";
    v1::PublishReply parsed;
    ASSERT_THAT(ParseFrame(reply.back(), parsed), IsOk());
    ASSERT_EQ(parsed.acks_size(), 1);
    status = parsed.acks(0).status();
  }

  std::string dir_, journal_, publish_, work_;
  topology::LaunchOptions launch_;
  zmq::context_t context_;
};

TEST_F(IngestBinaryTest, AcceptedArticleSurvivesKillNineAndSigtermExitsCleanly) {
  absl::StatusOr<Subprocess> ingest = StartIngest();
  ASSERT_THAT(ingest, IsOk());
  v1::PublishAck::Status status;
  ASSERT_NO_FATAL_FAILURE(PublishOne("Survives a crash", status));
  ASSERT_EQ(status, v1::PublishAck::ACCEPTED);
  ingest->Signal(SIGKILL);  // no chance to flush anything: the journal must already hold it
  ASSERT_THAT(ingest->Wait(absl::Seconds(5)), IsOk());

  ingest = StartIngest();
  ASSERT_THAT(ingest, IsOk());
  auto worker = Connected(zmq::socket_type::dealer, work_);
  v1::WorkerMessage credit;
  credit.mutable_credit()->set_credit(4);
  credit.mutable_credit()->set_registers(true);
  ASSERT_THAT(SendProto(*worker, credit), IsOk());
  v1::Dispatch dispatch;
  while (dispatch.items_size() == 0) {  // skip heartbeats (empty Dispatch)
    Frames frames;
    absl::StatusOr<bool> got = RecvFrames(*worker, frames);
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(*got) << "nothing dispatched after the restart; see " << dir_ << "/ingest.log";
    ASSERT_THAT(ParseFrame(frames.back(), dispatch), IsOk());
  }
  EXPECT_EQ(dispatch.items(0).article().title(), "Survives a crash");

  ingest->Signal(SIGTERM);
  absl::StatusOr<int> wait_status = ingest->Wait(absl::Seconds(5));
  ASSERT_THAT(wait_status, IsOk());
  EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0)
      << DescribeWaitStatus(*wait_status);
}

TEST_F(IngestBinaryTest, UnwritableJournalExitsNonZeroWithTheReason) {
  absl::StatusOr<Subprocess> ingest = StartIngest("/proc/no/such/dir");
  ASSERT_THAT(ingest, IsOk());
  absl::StatusOr<int> wait_status = ingest->Wait(absl::Seconds(5));
  ASSERT_THAT(wait_status, IsOk());
  EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 1)
      << DescribeWaitStatus(*wait_status);
  const std::string text = testing::ReadFile(dir_ + "/ingest.log");
  EXPECT_THAT(text, ::testing::HasSubstr("cannot create the journal directory /proc/no/such/dir"));
}

TEST_F(IngestBinaryTest, JournalOfRandomBytesIsMovedAsideAndIngestStarts) {
  {
    std::filesystem::create_directories(std::filesystem::path(journal_).parent_path());
    std::ofstream garbage(journal_, std::ios::binary);
    for (int i = 0; i < 100000; ++i) garbage.put(static_cast<char>((i * 7919) ^ (i >> 3)));
  }
  absl::StatusOr<Subprocess> ingest = StartIngest();
  ASSERT_THAT(ingest, IsOk());
  v1::PublishAck::Status status;
  ASSERT_NO_FATAL_FAILURE(PublishOne("After the damage", status));
  EXPECT_EQ(status, v1::PublishAck::ACCEPTED);
  ingest->Signal(SIGTERM);
  ASSERT_THAT(ingest->Wait(absl::Seconds(5)), IsOk());
  const std::string text = testing::ReadFile(dir_ + "/ingest.log");
  EXPECT_THAT(text, ::testing::HasSubstr("was damaged: moved it to " + journal_ + ".damaged-"));
}

}  // namespace
}  // namespace topicwire::ingest
