// Backpressure: the real `ingest` binary under a publisher far faster than the pipeline (no
// workers at all, so nothing ever leaves). Every article beyond --max_pending must be answered
// BUSY at once, and ingest's memory must stay flat however much more is offered.
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "common/zmq_channel.h"
#include "proto/article.pb.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

using namespace ::topicwire::testing::prelude;

// A memory figure of the process in KiB from /proc/<pid>/status ("VmRSS": resident now,
// "VmHWM": the most it was ever resident); -1 when unreadable.
int64_t StatusKib(pid_t pid, const std::string& field) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}
int64_t ResidentKib(pid_t pid) { return StatusKib(pid, "VmRSS"); }

// The real ingest on four free loopback ports (publish is the first), journal under `dir`.
absl::StatusOr<Subprocess> StartIngest(const std::string& dir, int port,
                                       const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {BinDir() + "/ingest",
                                   absl::StrCat("--publish_endpoint=tcp://127.0.0.1:", port),
                                   absl::StrCat("--work_endpoint=tcp://127.0.0.1:", port + 1),
                                   absl::StrCat("--commit_endpoint=tcp://127.0.0.1:", port + 2),
                                   absl::StrCat("--admin_endpoint=tcp://127.0.0.1:", port + 3),
                                   "--journal=" + dir + "/j.db",
                                   "--fsync=false"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return Subprocess::Start(argv, dir + "/ingest.log");
}

// AddressSanitizer keeps freed memory in quarantine (256 MB by default), so a sanitized ingest's
// RSS says nothing about what it holds on to.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kUnderAddressSanitizer = true;
#else
constexpr bool kUnderAddressSanitizer = false;
#endif
#else
constexpr bool kUnderAddressSanitizer = false;
#endif

TEST(IngestOverloadTest, MemoryStaysFlatUnderTwentyTimesMoreThanItCanTake) {
  if (kUnderAddressSanitizer) GTEST_SKIP() << "RSS is meaningless under AddressSanitizer";
  constexpr int kMaxPending = 1000;
  constexpr int kArticlesPerRequest = 10;
  constexpr int kRequests = 2000;          // 20000 articles: 20x what ingest may hold
  constexpr int kRequestsInFlight = 32;    // the publisher never waits for a reply to send more
  const std::string body(16 * 1024, 'o');  // 320 MiB offered in total

  const std::string dir = MakeTempDir();
  const int port = FreeLoopbackPortRange(4);
  const std::string publish = absl::StrCat("tcp://127.0.0.1:", port);
  absl::StatusOr<Subprocess> ingest =
      StartIngest(dir, port, {absl::StrCat("--max_pending=", kMaxPending)});
  ASSERT_THAT(ingest, IsOk());

  zmq::context_t context;
  zmq::socket_t publisher(context, zmq::socket_type::dealer);
  ASSERT_THAT(ConfigureSocket(publisher, 0), IsOk());
  publisher.set(zmq::sockopt::rcvtimeo, 10000);  // includes the child's start-up
  ASSERT_THAT(Connect(publisher, publish), IsOk());

  int sent = 0, answered = 0, accepted = 0, busy = 0;
  int64_t warm_kib = -1;
  std::vector<int64_t> samples;
  const absl::Time start = absl::Now();
  while (answered < kRequests) {
    while (sent < kRequests && sent - answered < kRequestsInFlight) {
      v1::PublishRequest request;
      for (int i = 0; i < kArticlesPerRequest; ++i) {
        v1::Article* article = request.add_articles();
        article->set_id(absl::StrCat("overload-", sent, "-", i));
        article->set_title("Overload");
        article->set_body(body);
      }
      ASSERT_THAT(SendProto(publisher, request), IsOk());
      ++sent;
    }
    Frames reply;
    absl::StatusOr<bool> got = RecvFrames(publisher, reply);
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(*got) << "ingest stopped answering; see " << dir << "/ingest.log";
    v1::PublishReply parsed;
    ASSERT_THAT(ParseFrame(reply.back(), parsed), IsOk());
    for (const v1::PublishAck& ack : parsed.acks()) {
      if (ack.status() == v1::PublishAck::ACCEPTED) ++accepted;
      if (ack.status() == v1::PublishAck::BUSY) {
        ++busy;
        EXPECT_THAT(ack.reason(), ::testing::HasSubstr("retry later"));
      }
    }
    ++answered;
    if (answered % 100 == 0) {
      samples.push_back(ResidentKib(ingest->pid()));
      // Warm-up: the pending set is full and the first BUSY wave has passed through.
      if (answered == 300) warm_kib = samples.back();
    }
  }
  const absl::Duration took = absl::Now() - start;
  const int64_t final_kib = ResidentKib(ingest->pid());
  std::cout << "ingest VmRSS (KiB) every 100 requests of " << kArticlesPerRequest << " x "
            << body.size() / 1024 << " KiB articles: " << absl::StrJoin(samples, " ") << "\n"
            << "warm-up " << warm_kib << " KiB, final " << final_kib << " KiB; accepted "
            << accepted << " busy " << busy << " in " << absl::FormatDuration(took) << "\n";

  EXPECT_EQ(accepted, kMaxPending) << "exactly --max_pending articles fit";
  EXPECT_EQ(busy, kRequests * kArticlesPerRequest - kMaxPending) << "everything else is BUSY";
  ASSERT_GT(warm_kib, 0);
  for (const int64_t sample : samples) {
    EXPECT_LT(sample, warm_kib * 3 / 2 + 8 * 1024) << "memory grew with the overload";
  }
  EXPECT_LT(final_kib, warm_kib * 3 / 2 + 8 * 1024);

  ingest->Signal(SIGTERM);
  absl::StatusOr<int> wait_status = ingest->Wait(absl::Seconds(5));
  ASSERT_THAT(wait_status, IsOk());
  EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0);
}

// One 15 MB request of 3,000,000 headline-only articles: parsed, it would be gigabytes of
// articles. It is refused whole, from a count taken on the wire, and the next publisher is served.
TEST(IngestOverloadTest, RequestOfMillionsOfHeadlinesIsRefusedWholeWithoutTheMemory) {
  if (kUnderAddressSanitizer) GTEST_SKIP() << "RSS is meaningless under AddressSanitizer";
  constexpr int kArticles = 3'000'000;
  // Built on the wire by hand (field 1, 3 bytes: title "h"), so the test holds 15 MB, not GBs.
  const std::string one_headline = {'\x0a', '\x03', '\x1a', '\x01', 'h'};
  std::string frame;
  frame.reserve(one_headline.size() * kArticles);
  for (int i = 0; i < kArticles; ++i) frame += one_headline;

  const std::string dir = MakeTempDir();
  const int port = FreeLoopbackPortRange(4);
  absl::StatusOr<Subprocess> ingest = StartIngest(dir, port, {});
  ASSERT_THAT(ingest, IsOk());
  zmq::context_t context;
  zmq::socket_t publisher(context, zmq::socket_type::dealer);
  ASSERT_THAT(ConfigureSocket(publisher, 0), IsOk());
  publisher.set(zmq::sockopt::rcvtimeo, 20000);  // includes the child's start-up
  ASSERT_THAT(Connect(publisher, absl::StrCat("tcp://127.0.0.1:", port)), IsOk());

  const auto publish = [&](const std::string& request, v1::PublishReply& reply) {
    Frames frames;
    frames.emplace_back(request.data(), request.size());
    ASSERT_THAT(SendFrames(publisher, frames), IsOk());
    Frames answer;
    absl::StatusOr<bool> got = RecvFrames(publisher, answer);
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(*got) << "no answer from ingest; see " << dir << "/ingest.log";
    ASSERT_THAT(ParseFrame(answer.back(), reply), IsOk());
  };
  v1::PublishReply refused;
  ASSERT_NO_FATAL_FAILURE(publish(frame, refused));
  EXPECT_EQ(refused.acks_size(), 0);
  EXPECT_THAT(refused.error(), HasSubstr("holds 3000000 articles, more than the 10000"));
  const int64_t peak_kib = StatusKib(ingest->pid(), "VmHWM");
  std::cout << "ingest's peak VmRSS after the 15 MB request: " << peak_kib << " KiB\n";
  EXPECT_GT(peak_kib, 0);
  EXPECT_LT(peak_kib, 256 * 1024) << "ingest parsed the articles of a request it refuses";

  v1::PublishRequest good;
  good.add_articles()->set_title("A publisher that keeps to the limit");
  v1::PublishReply served;
  ASSERT_NO_FATAL_FAILURE(publish(good.SerializeAsString(), served));
  ASSERT_EQ(served.acks_size(), 1);
  EXPECT_EQ(served.acks(0).status(), v1::PublishAck::ACCEPTED);

  ingest->Signal(SIGTERM);
  ASSERT_THAT(ingest->Wait(absl::Seconds(5)), IsOk());
}

// One message of 100,000 frames to the publish socket, as a hostile publisher could send any
// number: refused whole with a reason, counted, the next publisher served, and ingest's memory
// stays within a stated bound. libzmq holds the whole message (64 bytes per frame, a 1-byte
// frame's content inline) before ingest reads the first frame; ingest keeps at most
// --max_frames_per_message of them.
TEST(IngestOverloadTest, MessageOfAHundredThousandFramesIsRefusedWithBoundedMemory) {
  if (kUnderAddressSanitizer) GTEST_SKIP() << "RSS is meaningless under AddressSanitizer";
  constexpr int kFrames = 100'000;
  const std::string dir = MakeTempDir();
  const int port = FreeLoopbackPortRange(4);
  absl::StatusOr<Subprocess> ingest = StartIngest(dir, port, {});
  ASSERT_THAT(ingest, IsOk());
  zmq::context_t context;
  const auto connect = [&](zmq::socket_t& socket) {
    ASSERT_THAT(ConfigureSocket(socket, 0), IsOk());
    socket.set(zmq::sockopt::rcvtimeo, 20000);  // includes the child's start-up
    ASSERT_THAT(Connect(socket, absl::StrCat("tcp://127.0.0.1:", port)), IsOk());
  };
  zmq::socket_t hostile(context, zmq::socket_type::dealer);
  zmq::socket_t good(context, zmq::socket_type::dealer);
  ASSERT_NO_FATAL_FAILURE(connect(hostile));
  ASSERT_NO_FATAL_FAILURE(connect(good));
  const auto publish_good = [&](int n) {
    v1::PublishRequest request;
    request.add_articles()->set_title(absl::StrCat("A publisher that keeps to the limit ", n));
    ASSERT_THAT(SendProto(good, request), IsOk());
    Frames answer;
    absl::StatusOr<bool> got = RecvFrames(good, answer);
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(*got) << "no answer from ingest; see " << dir << "/ingest.log";
    v1::PublishReply reply;
    ASSERT_THAT(ParseFrame(answer.back(), reply), IsOk());
    ASSERT_EQ(reply.acks_size(), 1);
    EXPECT_EQ(reply.acks(0).status(), v1::PublishAck::ACCEPTED);
  };
  ASSERT_NO_FATAL_FAILURE(publish_good(0));
  const int64_t before_kib = StatusKib(ingest->pid(), "VmHWM");

  for (int round = 1; round <= 3; ++round) {
    Frames message;
    for (int i = 0; i < kFrames; ++i) message.emplace_back("x", 1);
    ASSERT_THAT(SendFrames(hostile, message), IsOk());
    Frames answer;
    absl::StatusOr<bool> got = RecvFrames(hostile, answer);
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(*got) << "no answer to the long message; see " << dir << "/ingest.log";
    v1::PublishReply refused;
    ASSERT_THAT(ParseFrame(answer.back(), refused), IsOk());
    EXPECT_THAT(refused.error(), HasSubstr(absl::StrCat("this one had ", kFrames + 1)));
    ASSERT_NO_FATAL_FAILURE(publish_good(round));
  }
  const int64_t peak_kib = StatusKib(ingest->pid(), "VmHWM");
  std::cout << "ingest's peak VmRSS: " << before_kib << " KiB before, " << peak_kib
            << " KiB after three messages of " << kFrames << " frames\n";
  EXPECT_GT(before_kib, 0);
  EXPECT_LT(peak_kib - before_kib, 24 * 1024) << "more than libzmq's 64 bytes per frame";

  ingest->Signal(SIGTERM);
  absl::StatusOr<int> wait_status = ingest->Wait(absl::Seconds(5));
  ASSERT_THAT(wait_status, IsOk());
  EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0);
  std::ifstream log(dir + "/ingest.log");
  const std::string logged((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_THAT(logged, HasSubstr("too_many_frames=3")) << "counted";
}

// A publisher that sends without ever reading its replies, each reply 10,000 BUSY acks (about
// 0.65 MiB): without a bound, ingest would queue every one of them for it. It holds at most
// --max_queued_replies_per_publisher (64) of them, builds at most
// PublishHandler::kMaxGroupCommitReplyBytes of replies before sending them, and counts every
// reply it drops. Meanwhile a publisher that reads is answered.
TEST(IngestOverloadTest, PublisherThatNeverReadsItsRepliesCostsABoundedAmount) {
  if (kUnderAddressSanitizer) GTEST_SKIP() << "RSS is meaningless under AddressSanitizer";
  constexpr int kRequests = 600;  // about 390 MiB of replies
  constexpr int kArticlesPerRequest = 10'000;
  const std::string dir = MakeTempDir();
  const int port = FreeLoopbackPortRange(5);
  const int http_port = port + 4;
  const std::string publish = absl::StrCat("tcp://127.0.0.1:", port);
  absl::StatusOr<Subprocess> ingest = StartIngest(
      dir, port, {"--max_pending=1", absl::StrCat("--http_listen=127.0.0.1:", http_port)});
  ASSERT_THAT(ingest, IsOk());

  zmq::context_t context;
  zmq::socket_t good(context, zmq::socket_type::dealer);
  ASSERT_THAT(ConfigureSocket(good, 0), IsOk());
  good.set(zmq::sockopt::rcvtimeo, 20000);  // includes the child's start-up
  ASSERT_THAT(Connect(good, publish), IsOk());
  const auto publish_one = [&](const std::string& id) {
    v1::PublishRequest request;
    v1::Article* article = request.add_articles();
    article->set_id(id);
    article->set_title("A publisher that reads its replies");
    ASSERT_THAT(SendProto(good, request), IsOk());
    Frames frames;
    absl::StatusOr<bool> got = RecvFrames(good, frames);
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(*got) << "the good publisher was not answered; see " << dir << "/ingest.log";
    v1::PublishReply reply;
    ASSERT_THAT(ParseFrame(frames.back(), reply), IsOk());
    ASSERT_EQ(reply.acks_size(), 1);
  };
  ASSERT_NO_FATAL_FAILURE(publish_one("good-first"));  // ingest is up; --max_pending is now full
  const int64_t start_kib = StatusKib(ingest->pid(), "VmHWM");

  // Its own ZeroMQ and kernel buffers hold almost nothing, so what it does not read stays queued
  // at ingest (or is dropped there).
  zmq::socket_t stalled(context, zmq::socket_type::dealer);
  ASSERT_THAT(ConfigureSocket(stalled, 0), IsOk());
  stalled.set(zmq::sockopt::rcvhwm, 1);
  stalled.set(zmq::sockopt::rcvbuf, 4096);
  ASSERT_THAT(Connect(stalled, publish), IsOk());
  // Built on the wire by hand (field 1: Article{id = 1: "n<i>", title = 3: "h"}).
  std::string request;
  for (int i = 0; i < kArticlesPerRequest; ++i) {
    const std::string id = absl::StrCat("n", 1'000'000 + i);
    const std::string article = absl::StrCat(std::string{'\x0a', static_cast<char>(id.size())}, id,
                                             std::string{'\x1a', '\x01', 'h'});
    request += absl::StrCat(std::string{'\x0a', static_cast<char>(article.size())}, article);
  }
  for (int i = 0; i < kRequests; ++i) {
    Frames frames;
    frames.emplace_back(request.data(), request.size());
    ASSERT_THAT(SendFrames(stalled, frames), IsOk());
    if (i % 30 == 0) {
      ASSERT_NO_FATAL_FAILURE(publish_one(absl::StrCat("good-", i)));
    }
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return e2e::MetricSample(http_port, "topicwire_ingest_articles_busy_total") >=
               kRequests * kArticlesPerRequest;
      },
      absl::Seconds(60)))
      << "ingest did not answer every request; see " << dir << "/ingest.log";
  ASSERT_NO_FATAL_FAILURE(publish_one("good-last"));
  const int64_t growth_kib = StatusKib(ingest->pid(), "VmHWM") - start_kib;
  std::cout << "ingest's peak VmRSS grew by " << growth_kib << " KiB answering " << kRequests
            << " requests of " << kArticlesPerRequest << " articles that were never read\n";
  // About 42 MiB of queued replies, plus what ingest holds of the requests it reads and the
  // replies it builds; far below the replies themselves.
  EXPECT_LT(growth_kib, 192 * 1024) << "the unread replies are not bounded";
  const double undelivered = e2e::MetricSample(
      http_port, "topicwire_ingest_replies_undelivered_total{reason=\"queue_full\"}");
  EXPECT_GE(undelivered, kRequests - 2 * 64) << "a dropped reply was not counted";
  EXPECT_LE(undelivered, kRequests);  // the reading publisher was answered: publish_one

  ingest->Signal(SIGTERM);
  ASSERT_THAT(ingest->Wait(absl::Seconds(5)), IsOk());
}

}  // namespace
}  // namespace topicwire::ingest
