// End-to-end security guarantees with the real binaries: CurveZMQ on every hop (keys from
// `topicwire keygen`; client keys on the public endpoints, stage keys on the internal ones),
// forged Deliveries, CommitAcks and rogue workers refused, refusals counted in /metrics, and the
// socket-level frame cap on every bound socket of ingest and sink.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/curve_keys.h"
#include "common/socket_monitor.h"
#include "common/subprocess.h"
#include "common/zmq_channel.h"
#include "proto/admin.pb.h"
#include "proto/article.pb.h"
#include "proto/history.pb.h"
#include "proto/internal.pb.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::e2e {
namespace {

using namespace ::topicwire::testing::prelude;

// The value of `name{endpoint="<endpoint>",reason="<reason>"}` on the stage's /metrics page; -1
// when absent.
double RefusedMetric(int http_port, const std::string& name, const std::string& endpoint,
                     const std::string& reason) {
  return MetricSample(http_port,
                      absl::StrCat(name, "{endpoint=\"", endpoint, "\",reason=\"", reason, "\"}"));
}

// How many of `items` are ready within `timeout`; -1 on a poll error.
int ReadyCount(std::vector<zmq::pollitem_t>& items, absl::Duration timeout) {
  absl::StatusOr<int> ready = Poll(items, timeout);
  return ready.ok() ? *ready : -1;
}

// A CURVE-secured pipeline: every stage holds a key pair; the public endpoints admit only
// alice's key, ingest's internal endpoints the worker's and sink's keys, sink's input the worker's.
class SecurePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = pipeline_.dir() + "/keys";
    for (const char* name : {"ingest", "sink", "classify", "alice", "mallory", "operator"}) {
      ASSERT_EQ(RunCli({"keygen", "--out", absl::StrCat(keys_, "/", name)},
                       absl::StrCat(pipeline_.dir(), "/logs/keygen-", name, ".log")),
                0)
          << name;
    }
    // The allow-lists are .pub files as keygen wrote them.
    std::ofstream(keys_ + "/allowed") << "# who may connect\n" << ReadFile(keys_ + "/alice.pub");
    std::ofstream(keys_ + "/ingest-stages")
        << ReadFile(keys_ + "/classify.pub") << ReadFile(keys_ + "/sink.pub");
    std::ofstream(keys_ + "/sink-stages") << ReadFile(keys_ + "/classify.pub");
    std::ofstream(keys_ + "/admins") << ReadFile(keys_ + "/operator.pub");
    pipeline_.StartIngest({"--curve_secret_key_file=" + keys_ + "/ingest.key",
                           "--curve_allow=" + keys_ + "/allowed",
                           "--curve_stage_allow=" + keys_ + "/ingest-stages",
                           "--curve_admin_allow=" + keys_ + "/admins",
                           absl::StrCat("--http_listen=127.0.0.1:", ingest_http())});
    pipeline_.StartSink({"--curve_secret_key_file=" + keys_ + "/sink.key",
                         "--curve_allow=" + keys_ + "/allowed",
                         "--curve_stage_allow=" + keys_ + "/sink-stages",
                         "--curve_ingest_server_key=" + keys_ + "/ingest.pub",
                         absl::StrCat("--http_listen=127.0.0.1:", sink_http())});
    pipeline_.StartWorker(0, {"--curve_secret_key_file=" + keys_ + "/classify.key",
                              "--curve_ingest_server_key=" + keys_ + "/ingest.pub",
                              "--curve_sink_server_key=" + keys_ + "/sink.pub"});
    ASSERT_TRUE(WaitFor(
        [&] {
          return RefusedMetric(ingest_http(), kIngestRefused, "publish", "plaintext") >= 0 &&
                 RefusedMetric(sink_http(), kSinkRefused, "input", "plaintext") >= 0;
        },
        absl::Seconds(20)))
        << "the stages did not serve their refusal counters";
  }

  // A socket of `type` connected to `endpoint`: plaintext without `keys`, else a CURVE client of
  // the server whose key file is `server`.
  zmq::socket_t Client(zmq::context_t& context, zmq::socket_type type, const std::string& endpoint,
                       const curve::KeyPair* keys, const std::string& server) {
    zmq::socket_t socket(context, type);
    EXPECT_THAT(ConfigureSocket(socket, 0), IsOk());
    if (keys != nullptr) {
      EXPECT_THAT(curve::SecureClient(socket, *keys, Keys(server).public_key), IsOk());
    }
    EXPECT_THAT(Connect(socket, endpoint), IsOk());
    return socket;
  }
  std::string Internal(topology::Endpoint endpoint) const {
    return absl::StrCat("tcp://127.0.0.1:", pipeline_.port(endpoint));
  }
  // The ids in sink's history, read as alice.
  std::set<std::string> HistoryIds(zmq::context_t& context) {
    const curve::KeyPair alice = Keys("alice");
    zmq::socket_t socket =
        Client(context, zmq::socket_type::dealer, pipeline_.history_endpoint(), &alice, "sink");
    std::set<std::string> ids;
    v1::HistoryRequest request;
    request.set_limit(1000);
    EXPECT_THAT(SendProto(socket, request), IsOk());
    std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
    EXPECT_EQ(ReadyCount(items, absl::Seconds(20)), 1) << "no history reply";
    if (items[0].revents == 0) return ids;
    Frames frames;
    EXPECT_THAT(RecvFrames(socket, frames), IsOk());
    v1::HistoryReply reply;
    EXPECT_THAT(ParseFrame(frames.back(), reply), IsOk());
    for (const v1::TaggedArticle& copy : reply.messages()) ids.insert(copy.article().id());
    return ids;
  }
  // Publishes `id` as alice and waits until alice's stream subscription `stream` carries it;
  // every id the stream carried meanwhile is added to `streamed`.
  bool PublishAndSee(zmq::context_t& context, zmq::socket_t& stream, const std::string& id,
                     std::set<std::string>& streamed) {
    const curve::KeyPair alice = Keys("alice");
    zmq::socket_t publisher =
        Client(context, zmq::socket_type::dealer, pipeline_.publish_endpoint(), &alice, "ingest");
    v1::PublishRequest request;
    *request.add_articles() = MakeArticle(id);
    EXPECT_THAT(SendProto(publisher, request), IsOk());
    return WaitFor(
        [&] {
          std::vector<zmq::pollitem_t> items = {{stream.handle(), 0, ZMQ_POLLIN, 0}};
          while (ReadyCount(items, absl::Milliseconds(100)) == 1) {
            Frames frames;
            if (!RecvFrames(stream, frames).ok()) return false;
            v1::TaggedArticle copy;
            if (ParseFrame(frames.back(), copy).ok()) streamed.insert(copy.article().id());
          }
          return streamed.count(id) == 1;
        },
        absl::Seconds(30));
  }

  int ingest_http() const { return pipeline_.port(topology::Endpoint::kIngestHttp); }
  int sink_http() const { return pipeline_.port(topology::Endpoint::kSinkHttp); }
  curve::KeyPair Keys(const std::string& name) {
    absl::StatusOr<curve::KeyPair> keys = curve::ReadKeyFile(keys_ + "/" + name);
    EXPECT_THAT(keys, IsOk());
    return keys.ok() ? *keys : curve::KeyPair{};
  }
  std::string WriteArticle(const std::string& id) {
    const std::string path = absl::StrCat(pipeline_.dir(), "/", id, ".json");
    std::ofstream(path) << "{\"id\": \"" << id
                        << "\", \"title\": \"Quantum computing milestone\", \"body\": \"A new "
                           "quantum processor was announced.\"}\n";
    return path;
  }

  static constexpr char kIngestRefused[] = "topicwire_ingest_auth_refused_total";
  static constexpr char kSinkRefused[] = "topicwire_sink_auth_refused_total";
  Pipeline pipeline_;
  std::string keys_;
};

TEST_F(SecurePipelineTest, AllowListedClientPublishesAndSubscribesWithTheCli) {
  const std::string publish_log = pipeline_.dir() + "/logs/publish.log";
  EXPECT_EQ(RunCli({"publish", "--to", pipeline_.publish_endpoint(), "--timeout", "20",
                    "--curve-server-key", keys_ + "/ingest.pub", "--curve-key", keys_ + "/alice",
                    WriteArticle("secure-1")},
                   publish_log),
            0)
      << ReadFile(publish_log);
  // History (--since 0) and the live stream both go through CURVE.
  const std::string subscribe_log = pipeline_.dir() + "/logs/subscribe.log";
  EXPECT_EQ(RunCli({"subscribe", "--from", pipeline_.stream_endpoint(), "--since", "0", "--count",
                    "1", "--timeout", "30", "--curve-server-key", keys_ + "/sink.pub",
                    "--curve-key", keys_ + "/alice"},
                   subscribe_log),
            0)
      << ReadFile(subscribe_log);
  EXPECT_THAT(ReadFile(subscribe_log), HasSubstr("secure-1"));
  EXPECT_EQ(RefusedMetric(ingest_http(), kIngestRefused, "publish", "unknown_key"), 0);
  EXPECT_EQ(RefusedMetric(sink_http(), kSinkRefused, "stream", "unknown_key"), 0);
}

// Refusals of a plaintext client: "plaintext" when the server saw the mechanism mismatch,
// "bad_handshake" when the client hung up first.
double PlaintextRefusals(int http_port, const std::string& metric, const std::string& endpoint) {
  return RefusedMetric(http_port, metric, endpoint, "plaintext") +
         RefusedMetric(http_port, metric, endpoint, "bad_handshake");
}

TEST_F(SecurePipelineTest, PlaintextAndUnknownKeyPublishersGetNothingAndAreCounted) {
  zmq::context_t context(1);
  v1::PublishRequest request;
  *request.add_articles() = MakeArticle("from-a-stranger");

  // Plaintext: the CURVE handshake fails, the request never reaches ingest.
  EXPECT_THAT(PublishOnce(context, pipeline_.publish_endpoint(), request, absl::Seconds(2)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(
      // A slow server may see the plaintext client hang up (EPIPE) before it can tell the
      // mechanism apart: that refusal is counted as bad_handshake.
      WaitFor([&] { return PlaintextRefusals(ingest_http(), kIngestRefused, "publish") >= 1; },
              absl::Seconds(10)));

  // A well-formed CURVE client whose key is not allow-listed: refused by ZAP.
  zmq::socket_t mallory(context, zmq::socket_type::dealer);
  ASSERT_THAT(ConfigureSocket(mallory, 0), IsOk());
  ASSERT_THAT(curve::SecureClient(mallory, Keys("mallory"), Keys("ingest").public_key), IsOk());
  ASSERT_THAT(Connect(mallory, pipeline_.publish_endpoint()), IsOk());
  ASSERT_THAT(SendProto(mallory, request), IsOk());
  EXPECT_TRUE(WaitFor(
      [&] { return RefusedMetric(ingest_http(), kIngestRefused, "publish", "unknown_key") >= 1; },
      absl::Seconds(10)));

  // Nothing of theirs was accepted; the allow-listed client still is.
  zmq::socket_t alice(context, zmq::socket_type::dealer);
  ASSERT_THAT(ConfigureSocket(alice, 0), IsOk());
  ASSERT_THAT(curve::SecureClient(alice, Keys("alice"), Keys("ingest").public_key), IsOk());
  ASSERT_THAT(Connect(alice, pipeline_.publish_endpoint()), IsOk());
  v1::PublishRequest own;
  *own.add_articles() = MakeArticle("from-alice");
  ASSERT_THAT(SendProto(alice, own), IsOk());
  std::vector<zmq::pollitem_t> items = {{alice.handle(), 0, ZMQ_POLLIN, 0}};
  ASSERT_EQ(ReadyCount(items, absl::Seconds(20)), 1);
  Frames frames;
  ASSERT_THAT(RecvFrames(alice, frames), IsOk());
  v1::PublishReply reply;
  ASSERT_THAT(ParseFrame(frames.back(), reply), IsOk());
  ASSERT_EQ(reply.acks_size(), 1);
  EXPECT_EQ(reply.acks(0).status(), v1::PublishAck::ACCEPTED);
  // Alice's answer is the marker: ingest answers requests in the order they reach its loop, and
  // mallory's was sent before alice connected, so an answer to mallory would have gone out first.
  items = {{mallory.handle(), 0, ZMQ_POLLIN, 0}};
  EXPECT_EQ(ReadyCount(items, absl::ZeroDuration()), 0) << "mallory got an answer";
  EXPECT_TRUE(pipeline_.process("ingest").running());
}

TEST_F(SecurePipelineTest, PlaintextAndUnknownKeySubscribersSeeNothingAndAreCounted) {
  zmq::context_t context(1);
  auto subscriber = [&](const curve::KeyPair* keys) {
    zmq::socket_t socket(context, zmq::socket_type::sub);
    EXPECT_THAT(ConfigureSocket(socket, 0), IsOk());
    if (keys != nullptr) {
      EXPECT_THAT(curve::SecureClient(socket, *keys, Keys("sink").public_key), IsOk());
    }
    EXPECT_THAT(AddSubscription(socket, ""), IsOk());
    EXPECT_THAT(Connect(socket, pipeline_.stream_endpoint()), IsOk());
    return socket;
  };
  const curve::KeyPair alice_keys = Keys("alice");
  const curve::KeyPair mallory_keys = Keys("mallory");
  zmq::socket_t plaintext = subscriber(nullptr);
  zmq::socket_t mallory = subscriber(&mallory_keys);
  zmq::socket_t alice = subscriber(&alice_keys);
  EXPECT_TRUE(WaitFor(
      [&] {
        return PlaintextRefusals(sink_http(), kSinkRefused, "stream") >= 1 &&
               RefusedMetric(sink_http(), kSinkRefused, "stream", "unknown_key") >= 1;
      },
      absl::Seconds(10)));

  // Publish (as alice) until alice's subscription sees an article; the others must see none.
  zmq::socket_t publisher(context, zmq::socket_type::dealer);
  ASSERT_THAT(ConfigureSocket(publisher, 0), IsOk());
  ASSERT_THAT(curve::SecureClient(publisher, alice_keys, Keys("ingest").public_key), IsOk());
  ASSERT_THAT(Connect(publisher, pipeline_.publish_endpoint()), IsOk());
  int sent = 0;
  EXPECT_TRUE(WaitFor(
      [&] {
        v1::PublishRequest request;
        *request.add_articles() = MakeArticle(absl::StrCat("stream-", sent++));
        EXPECT_THAT(SendProto(publisher, request, /*dont_wait=*/true), IsOk());
        std::vector<zmq::pollitem_t> items = {{alice.handle(), 0, ZMQ_POLLIN, 0}};
        absl::StatusOr<int> ready = Poll(items, absl::Milliseconds(500));
        return ready.ok() && *ready == 1;
      },
      absl::Seconds(60)));
  // Alice's article is the marker: sink publishes each article to every admitted subscriber at
  // once, so a copy for the others would have been sent no later than alice's.
  std::vector<zmq::pollitem_t> items = {{plaintext.handle(), 0, ZMQ_POLLIN, 0},
                                        {mallory.handle(), 0, ZMQ_POLLIN, 0}};
  EXPECT_EQ(ReadyCount(items, absl::ZeroDuration()), 0);
}

// Sink's input admits only stage keys: a plaintext PUSH, a CURVE client with an unknown key and
// one with a client's (alice's) key cannot inject a Delivery, which would be stored and streamed
// without validation. The forged articles reach neither the stream nor history.
TEST_F(SecurePipelineTest, ForgedDeliveriesToSinkInputAreRefusedAndNeverStoredOrStreamed) {
  zmq::context_t context(1);
  const curve::KeyPair alice = Keys("alice");
  const curve::KeyPair mallory = Keys("mallory");
  zmq::socket_t stream =
      Client(context, zmq::socket_type::sub, pipeline_.stream_endpoint(), &alice, "sink");
  ASSERT_THAT(AddSubscription(stream, ""), IsOk());

  const std::string input = Internal(topology::Endpoint::kSinkInput);
  std::vector<zmq::socket_t> forgers;
  forgers.push_back(Client(context, zmq::socket_type::push, input, nullptr, ""));
  forgers.push_back(Client(context, zmq::socket_type::push, input, &mallory, "sink"));
  forgers.push_back(Client(context, zmq::socket_type::push, input, &alice, "sink"));
  for (size_t i = 0; i < forgers.size(); ++i) {
    v1::Delivery forged;
    forged.set_journal_seq(1);
    *forged.mutable_tagged()->mutable_article() = MakeArticle(absl::StrCat("forged-", i));
    ASSERT_THAT(SendProto(forgers[i], forged, /*dont_wait=*/true), IsOk());
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        return PlaintextRefusals(sink_http(), kSinkRefused, "input") >= 1 &&
               RefusedMetric(sink_http(), kSinkRefused, "input", "unknown_key") >= 2;
      },
      absl::Seconds(10)))
      << pipeline_.Logs();

  // The real pipeline still delivers; by the time a real article is streamed and stored, none of
  // the forged ones has been.
  std::set<std::string> streamed;
  ASSERT_TRUE(PublishAndSee(context, stream, "real-after-forgery", streamed)) << pipeline_.Logs();
  const std::set<std::string> stored = HistoryIds(context);
  EXPECT_EQ(stored.count("real-after-forgery"), 1);
  for (int i = 0; i < 3; ++i) {
    const std::string id = absl::StrCat("forged-", i);
    EXPECT_EQ(streamed.count(id), 0) << id << " was streamed";
    EXPECT_EQ(stored.count(id), 0) << id << " was stored";
  }
}

// Ingest's commit endpoint admits only stage keys: a forged CommitAck (which would make ingest
// forget an accepted article) from a plaintext PUSH or an unknown key is refused and counted,
// and the article it names is still delivered.
TEST_F(SecurePipelineTest, ForgedCommitAcksAreRefusedAndTheArticleIsStillDelivered) {
  zmq::context_t context(1);
  const curve::KeyPair alice = Keys("alice");
  const curve::KeyPair mallory = Keys("mallory");
  const std::string commit = Internal(topology::Endpoint::kCommit);
  std::vector<zmq::socket_t> forgers;
  forgers.push_back(Client(context, zmq::socket_type::push, commit, nullptr, ""));
  forgers.push_back(Client(context, zmq::socket_type::push, commit, &mallory, "ingest"));
  forgers.push_back(Client(context, zmq::socket_type::push, commit, &alice, "ingest"));
  v1::CommitAck forged;
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    v1::CommitAck::Committed* committed = forged.add_committed();
    committed->set_journal_seq(seq);
    committed->set_article_id("acked-but-never-stored");
  }
  for (zmq::socket_t& forger : forgers) {
    ASSERT_THAT(SendProto(forger, forged, /*dont_wait=*/true), IsOk());
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        return PlaintextRefusals(ingest_http(), kIngestRefused, "commit") >= 1 &&
               RefusedMetric(ingest_http(), kIngestRefused, "commit", "unknown_key") >= 2;
      },
      absl::Seconds(10)))
      << pipeline_.Logs();

  zmq::socket_t stream =
      Client(context, zmq::socket_type::sub, pipeline_.stream_endpoint(), &alice, "sink");
  ASSERT_THAT(AddSubscription(stream, ""), IsOk());
  std::set<std::string> streamed;
  ASSERT_TRUE(PublishAndSee(context, stream, "acked-but-never-stored", streamed))
      << pipeline_.Logs();
  EXPECT_EQ(HistoryIds(context).count("acked-but-never-stored"), 1);
}

// Ingest's work endpoint admits only stage keys: a rogue worker (plaintext, an unknown key, a
// client's key) that grants credit is refused, counted and handed no article, while the real
// worker takes them all.
TEST_F(SecurePipelineTest, RogueWorkersAreRefusedAndGetNoArticles) {
  zmq::context_t context(1);
  const curve::KeyPair alice = Keys("alice");
  const curve::KeyPair mallory = Keys("mallory");
  const std::string work = Internal(topology::Endpoint::kWork);
  std::vector<zmq::socket_t> rogues;
  rogues.push_back(Client(context, zmq::socket_type::dealer, work, nullptr, ""));
  rogues.push_back(Client(context, zmq::socket_type::dealer, work, &mallory, "ingest"));
  rogues.push_back(Client(context, zmq::socket_type::dealer, work, &alice, "ingest"));
  v1::WorkerMessage credit;
  credit.mutable_credit()->set_credit(1000);
  for (zmq::socket_t& rogue : rogues) {
    ASSERT_THAT(SendProto(rogue, credit, /*dont_wait=*/true), IsOk());
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        return PlaintextRefusals(ingest_http(), kIngestRefused, "work") >= 1 &&
               RefusedMetric(ingest_http(), kIngestRefused, "work", "unknown_key") >= 2;
      },
      absl::Seconds(10)))
      << pipeline_.Logs();

  zmq::socket_t stream =
      Client(context, zmq::socket_type::sub, pipeline_.stream_endpoint(), &alice, "sink");
  ASSERT_THAT(AddSubscription(stream, ""), IsOk());
  std::set<std::string> streamed;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(PublishAndSee(context, stream, absl::StrCat("work-", i), streamed))
        << pipeline_.Logs();
  }
  std::vector<zmq::pollitem_t> items;
  for (zmq::socket_t& rogue : rogues) items.push_back({rogue.handle(), 0, ZMQ_POLLIN, 0});
  EXPECT_EQ(ReadyCount(items, absl::Milliseconds(200)), 0) << "a rogue worker got a message";
}

// Revoking a key needs no restart: after the allow-list file changes (and SIGHUP, which must
// reload, not kill), a new connection with the revoked key is refused, and the stage keeps
// serving the keys still listed.
TEST_F(SecurePipelineTest, RevokedClientKeyIsRefusedWithoutARestart) {
  zmq::context_t context(1);
  v1::PublishRequest request;
  *request.add_articles() = MakeArticle("before-revocation");
  const curve::KeyPair alice = Keys("alice");
  {
    zmq::socket_t publisher =
        Client(context, zmq::socket_type::dealer, pipeline_.publish_endpoint(), &alice, "ingest");
    ASSERT_THAT(SendProto(publisher, request), IsOk());
    std::vector<zmq::pollitem_t> items = {{publisher.handle(), 0, ZMQ_POLLIN, 0}};
    ASSERT_EQ(ReadyCount(items, absl::Seconds(20)), 1);
  }
  // Mallory replaces alice in the list: written beside it and renamed over it, as editors do.
  std::ofstream(keys_ + "/allowed.new") << ReadFile(keys_ + "/mallory.pub");
  ASSERT_EQ(std::rename((keys_ + "/allowed.new").c_str(), (keys_ + "/allowed").c_str()), 0);
  pipeline_.process("ingest").Signal(SIGHUP);
  // Each try ends on a positive sign: alice is answered (the reload has not happened yet: try
  // again) or ingest counts her refusal. A refusal must come with no answer.
  const auto refused = [&] {
    return RefusedMetric(ingest_http(), kIngestRefused, "publish", "unknown_key");
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        const double refused_before = refused();
        zmq::socket_t publisher = Client(context, zmq::socket_type::dealer,
                                         pipeline_.publish_endpoint(), &alice, "ingest");
        EXPECT_THAT(SendProto(publisher, request), IsOk());
        std::vector<zmq::pollitem_t> items = {{publisher.handle(), 0, ZMQ_POLLIN, 0}};
        bool answered = false;
        EXPECT_TRUE(WaitFor(
            [&] {
              answered = ReadyCount(items, absl::Milliseconds(20)) == 1;
              return answered || refused() > refused_before;
            },
            absl::Seconds(10)))
            << "alice was neither answered nor counted as refused";
        return !answered && ReadyCount(items, absl::ZeroDuration()) == 0;
      },
      absl::Seconds(20)))
      << "alice is still admitted";
  EXPECT_GE(refused(), 1);
  EXPECT_TRUE(pipeline_.process("ingest").running()) << "SIGHUP must reload, not stop ingest";
  const curve::KeyPair mallory = Keys("mallory");
  zmq::socket_t publisher =
      Client(context, zmq::socket_type::dealer, pipeline_.publish_endpoint(), &mallory, "ingest");
  *request.mutable_articles(0) = MakeArticle("after-revocation");
  ASSERT_THAT(SendProto(publisher, request), IsOk());
  std::vector<zmq::pollitem_t> items = {{publisher.handle(), 0, ZMQ_POLLIN, 0}};
  EXPECT_EQ(ReadyCount(items, absl::Seconds(20)), 1) << "the newly listed key is not admitted";
  EXPECT_GE(
      MetricSample(ingest_http(), "topicwire_ingest_auth_allow_list_reloads_total{result=\"ok\"}"),
      1);
}

// The admin endpoint (dead letters: list and re-send every body) admits only admin keys: a
// plaintext client and a client key that is good on the public endpoints (alice's) are refused
// and counted, and get no answer; the operator's key is answered.
TEST_F(SecurePipelineTest, AdminEndpointAnswersOnlyAdminKeys) {
  zmq::context_t context(1);
  const std::string admin = Internal(topology::Endpoint::kAdmin);
  v1::AdminRequest request;
  request.mutable_list_dead_letters();
  const curve::KeyPair alice_keys = Keys("alice");
  const curve::KeyPair operator_keys = Keys("operator");
  zmq::socket_t plaintext = Client(context, zmq::socket_type::dealer, admin, nullptr, "ingest");
  zmq::socket_t alice = Client(context, zmq::socket_type::dealer, admin, &alice_keys, "ingest");
  ASSERT_THAT(SendProto(plaintext, request), IsOk());
  ASSERT_THAT(SendProto(alice, request), IsOk());
  ASSERT_TRUE(WaitFor(
      [&] {
        return PlaintextRefusals(ingest_http(), kIngestRefused, "admin") >= 1 &&
               RefusedMetric(ingest_http(), kIngestRefused, "admin", "unknown_key") >= 1;
      },
      absl::Seconds(10)))
      << "the admin endpoint did not count a plaintext and an unlisted CURVE client";

  zmq::socket_t admin_client =
      Client(context, zmq::socket_type::dealer, admin, &operator_keys, "ingest");
  ASSERT_THAT(SendProto(admin_client, request), IsOk());
  std::vector<zmq::pollitem_t> items = {{admin_client.handle(), 0, ZMQ_POLLIN, 0}};
  ASSERT_EQ(ReadyCount(items, absl::Seconds(20)), 1) << "the operator got no answer";
  Frames frames;
  ASSERT_THAT(RecvFrames(admin_client, frames), IsOk());
  v1::AdminReply reply;
  ASSERT_THAT(ParseFrame(frames.back(), reply), IsOk());
  EXPECT_TRUE(reply.has_list_dead_letters()) << reply.error();
  // A refused handshake lets nothing through: neither refused client has an answer.
  items = {{plaintext.handle(), 0, ZMQ_POLLIN, 0}, {alice.handle(), 0, ZMQ_POLLIN, 0}};
  EXPECT_EQ(ReadyCount(items, absl::ZeroDuration()), 0);
}

TEST(CurveConfigE2eTest, HalfACurveConfigurationOrABadKeyFileExitsWithAHint) {
  Pipeline pipeline;
  const std::string keys = pipeline.dir() + "/keys";
  ASSERT_EQ(RunCli({"keygen", "--out", keys + "/server"}, pipeline.dir() + "/logs/keygen.log"), 0);
  const std::string log = pipeline.dir() + "/logs/ingest.log";

  pipeline.StartIngest({"--curve_secret_key_file=" + keys + "/server.key"});
  absl::StatusOr<int> status = pipeline.process("ingest").Wait(absl::Seconds(20));
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1);
  EXPECT_THAT(ReadFile(log), HasSubstr("--curve_allow"));

  // The public key file is not a server key: the secret is missing.
  std::ofstream(keys + "/allowed") << ReadFile(keys + "/server.pub");
  pipeline.StartIngest({"--curve_secret_key_file=" + keys + "/server.pub",
                        "--curve_allow=" + keys + "/allowed",
                        "--curve_stage_allow=" + keys + "/allowed"});
  status = pipeline.process("ingest").Wait(absl::Seconds(20));
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1);
  EXPECT_THAT(ReadFile(log), HasSubstr("holds no secret key"));

  // Keys secure every hop: the internal allow-list and the peers' server keys are required too.
  std::remove(log.c_str());  // the log is appended to: keep only this run's lines
  pipeline.StartIngest(
      {"--curve_secret_key_file=" + keys + "/server.key", "--curve_allow=" + keys + "/allowed"});
  status = pipeline.process("ingest").Wait(absl::Seconds(20));
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1);
  EXPECT_THAT(ReadFile(log), HasSubstr("--curve_stage_allow"));
  pipeline.StartSink({"--curve_secret_key_file=" + keys + "/server.key",
                      "--curve_allow=" + keys + "/allowed",
                      "--curve_stage_allow=" + keys + "/allowed"});
  status = pipeline.process("sink").Wait(absl::Seconds(20));
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1);
  EXPECT_THAT(ReadFile(pipeline.dir() + "/logs/sink.log"), HasSubstr("--curve_ingest_server_key"));
  pipeline.StartWorker(0, {"--curve_secret_key_file=" + keys + "/server.key",
                           "--curve_ingest_server_key=" + keys + "/server.pub"});
  status = pipeline.process("classify-0").Wait(absl::Seconds(20));
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1);
  EXPECT_THAT(ReadFile(pipeline.dir() + "/logs/classify-0.log"),
              HasSubstr("--curve_sink_server_key"));
}

// The words of the command `up` printed in parentheses on the line starting with `role`; empty
// when there is no such line.
std::vector<std::string> PrintedCommand(const std::string& up_output, const std::string& role) {
  for (absl::string_view line : absl::StrSplit(up_output, '\n')) {
    if (!absl::StartsWith(line, role + " ")) continue;
    const size_t open = line.find("(topicwire ");
    const size_t close = line.rfind(')');
    if (open == absl::string_view::npos || close == absl::string_view::npos) return {};
    return absl::StrSplit(line.substr(open + 11, close - open - 11), ' ', absl::SkipEmpty());
  }
  return {};
}

// `topicwire up --curve-dir DIR` generates every key, secures every hop, and the client lines it
// prints work as printed; a client without the keys gets nothing.
TEST(UpCurveDirE2eTest, EveryHopIsSecuredAndThePrintedClientCommandsWork) {
  const std::string dir = testing::MakeTempDir();
  const std::string keys = dir + "/keys";
  const int port = RandomFreePortRange(12);
  std::vector<std::string> argv = {testing::BinDir() + "/topicwire",
                                   "up",
                                   "--data-dir",
                                   dir + "/data",
                                   "--base-port",
                                   absl::StrCat(port),
                                   "--workers",
                                   "1",
                                   "--bin-dir",
                                   testing::BinDir(),
                                   "--curve-dir",
                                   keys};
  const std::string out = dir + "/up.out";
  std::string command = "exec";
  for (const std::string& arg : argv) absl::StrAppend(&command, " '", arg, "'");
  absl::StatusOr<Subprocess> up =
      Subprocess::Start({"/bin/sh", "-c", absl::StrCat(command, " >'", out, "' 2>&1")});
  ASSERT_THAT(up, IsOk());
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(ReadFile(out), "curve "); }, absl::Seconds(20)))
      << ReadFile(out);
  const std::string printed = ReadFile(out);
  for (const char* name : {"ingest", "sink", "classify", "client"}) {
    struct stat info {};
    ASSERT_EQ(stat(absl::StrCat(keys, "/", name, ".key").c_str(), &info), 0) << name;
    EXPECT_EQ(info.st_mode & 0777, 0600) << name;
  }

  std::vector<std::string> publish = PrintedCommand(printed, "publish");
  ASSERT_THAT(publish, Contains("--curve-server-key")) << printed;
  const std::string article = dir + "/a.json";
  std::ofstream(article) << "{\"id\": \"up-curve-1\", \"title\": \"Quantum computing\"}\n";
  publish.insert(publish.end(), {"--timeout", "30", article});
  EXPECT_EQ(RunCli(publish, dir + "/publish.log"), 0) << ReadFile(dir + "/publish.log");

  std::vector<std::string> subscribe = PrintedCommand(printed, "subscribe");
  subscribe.insert(subscribe.end(), {"--since", "0", "--count", "1", "--timeout", "30"});
  EXPECT_EQ(RunCli(subscribe, dir + "/subscribe.log"), 0) << ReadFile(dir + "/subscribe.log");
  EXPECT_THAT(ReadFile(dir + "/subscribe.log"), HasSubstr("up-curve-1"));

  std::vector<std::string> admin = PrintedCommand(printed, "admin");
  ASSERT_THAT(admin, Contains("--curve-key")) << printed;
  admin.insert(admin.begin() + 1, "list");
  EXPECT_EQ(RunCli(admin, dir + "/admin.log"), 0) << ReadFile(dir + "/admin.log");
  // Without the keys: no answer from the admin endpoint, nothing accepted by ingest.
  EXPECT_NE(RunCli({"deadletters", "list", "--admin", absl::StrCat("tcp://127.0.0.1:", port + 9),
                    "--timeout", "1"},
                   dir + "/admin-plain.log"),
            0);
  zmq::context_t context(1);
  v1::PublishRequest request;
  *request.add_articles() = MakeArticle("up-curve-plaintext");
  EXPECT_THAT(
      PublishOnce(context, absl::StrCat("tcp://127.0.0.1:", port), request, absl::Seconds(1)),
      StatusIs(absl::StatusCode::kDeadlineExceeded));

  up->Signal(SIGTERM);
  absl::StatusOr<int> status = up->Wait(absl::Seconds(40));
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << ReadFile(out);
}

// A client socket of `type` with a monitor that reports its disconnection.
class WatchedClient {
 public:
  WatchedClient(zmq::context_t& context, zmq::socket_type type, const std::string& endpoint)
      : socket_(context, type) {
    EXPECT_THAT(ConfigureSocket(socket_, 0), IsOk());
    absl::StatusOr<SocketMonitor> monitor =
        SocketMonitor::Start(context, socket_, ZMQ_EVENT_DISCONNECTED);
    EXPECT_THAT(monitor, IsOk());
    if (monitor.ok()) monitor_ = *std::move(monitor);
    EXPECT_THAT(Connect(socket_, endpoint), IsOk());
  }
  zmq::socket_t& socket() { return socket_; }
  bool Disconnected(absl::Duration timeout) {
    std::vector<zmq::pollitem_t> items = {{monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    absl::StatusOr<int> ready = Poll(items, timeout);
    return ready.ok() && *ready == 1;
  }

 private:
  zmq::socket_t socket_;
  SocketMonitor monitor_;
};

TEST(SocketCapE2eTest, OverCapFrameDropsTheConnectionOnEverySocketAndServiceContinues) {
  Pipeline pipeline;
  pipeline.StartAll(/*workers=*/1);
  zmq::context_t context(1);
  struct Target {
    const char* what;
    topology::Endpoint endpoint;
    zmq::socket_type client_type;
  };
  using topology::Endpoint;
  const Target targets[] = {
      {"ingest publish", Endpoint::kPublish, zmq::socket_type::dealer},
      {"sink stream", Endpoint::kStream, zmq::socket_type::xsub},
      {"sink history", Endpoint::kHistory, zmq::socket_type::dealer},
      {"ingest work", Endpoint::kWork, zmq::socket_type::dealer},
      {"sink input", Endpoint::kSinkInput, zmq::socket_type::push},
      {"ingest commit", Endpoint::kCommit, zmq::socket_type::push},
  };
  for (const Target& target : targets) {
    WatchedClient client(context, target.client_type,
                         absl::StrCat("tcp://127.0.0.1:", pipeline.port(target.endpoint)));
    zmq::message_t frame(static_cast<size_t>(kMaxFrameBytes) + 1);
    std::memset(frame.data(), 'x', frame.size());
    // Not a subscription (first byte 'x'), so XSUB passes it upstream as it is: as a
    // subscription it would go into XSUB's own recursive trie and overflow this test's stack.
    Frames frames;
    frames.push_back(std::move(frame));
    ASSERT_THAT(SendFrames(client.socket(), frames), IsOk()) << target.what;
    // libzmq's decoder drops the connection as soon as it reads the oversized length.
    EXPECT_TRUE(client.Disconnected(absl::Seconds(10)))
        << target.what << " accepted a frame over kMaxFrameBytes";
  }

  // Subscribers may send only short subscriptions: XPUB's subscription trie costs about 100
  // bytes per byte, so a 1 MiB "subscription" is refused by a much lower cap on the stream.
  {
    WatchedClient client(context, zmq::socket_type::xsub, pipeline.stream_endpoint());
    Frames frames;
    frames.emplace_back(std::string(1 << 20, 'x').data(), size_t{1} << 20);
    ASSERT_THAT(SendFrames(client.socket(), frames), IsOk());
    EXPECT_TRUE(client.Disconnected(absl::Seconds(10))) << "sink took a 1 MiB subscription";
  }

  // An article over the 1 MiB article limit but far under the socket cap is answered, with the
  // size and the limit in the reason (a limit that drops without a word would be a bug).
  // Every stage survived and the pipeline still delivers.
  ExpectOversizedRejectedAndServingGoesOn(pipeline, context, "two-mebibytes",
                                          "after-the-big-frames");
}

}  // namespace
}  // namespace topicwire::e2e
