#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/curve_keys.h"
#include "common/zap_authenticator.h"
#include "common/zmq_channel.h"
#include "tests/testing/prelude.h"
#include "tests/testing/zmq_test_util.h"

namespace topicwire::curve {
namespace {

using namespace ::topicwire::testing::prelude;

KeyPair NewKeys() {
  absl::StatusOr<KeyPair> keys = GenerateKeyPair();
  EXPECT_THAT(keys, IsOk());
  return keys.ok() ? *keys : KeyPair{};
}

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(CurveKeysTest, CurveIsAvailableAndKeysAreZ85) {
  ASSERT_TRUE(Available()) << "libzmq without libsodium: CURVE cannot work";
  const KeyPair keys = NewKeys();
  EXPECT_THAT(ValidateKey(keys.public_key), IsOk());
  EXPECT_THAT(ValidateKey(keys.secret_key), IsOk());
  EXPECT_NE(keys.public_key, keys.secret_key);
  EXPECT_THAT(ValidateKey("too short"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateKey(std::string(40, '"')), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CurveKeysTest, KeyFilesRoundTripAndTheSecretIsPrivate) {
  const std::string prefix = testing::MakeTempDir() + "/keys/server";
  const KeyPair keys = NewKeys();
  ASSERT_THAT(WriteKeyFiles(prefix, keys), IsOk());

  struct stat info {};
  ASSERT_EQ(stat((prefix + ".key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);

  absl::StatusOr<KeyPair> both = ReadKeyFile(prefix);  // the prefix finds PREFIX.key
  ASSERT_THAT(both, IsOk());
  EXPECT_EQ(both->public_key, keys.public_key);
  EXPECT_EQ(both->secret_key, keys.secret_key);

  absl::StatusOr<KeyPair> public_only = ReadKeyFile(prefix + ".pub");
  ASSERT_THAT(public_only, IsOk());
  EXPECT_EQ(public_only->public_key, keys.public_key);
  EXPECT_TRUE(public_only->secret_key.empty());

  EXPECT_EQ(ResolvePublicKey(prefix).value_or(""), keys.public_key);
  EXPECT_EQ(ResolvePublicKey(keys.public_key).value_or(""), keys.public_key);
  EXPECT_THAT(ResolvePublicKey(prefix + ".missing"), StatusIs(absl::StatusCode::kInvalidArgument));

  // Never overwrite a secret key.
  EXPECT_THAT(WriteKeyFiles(prefix, NewKeys()), StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST(CurveKeysTest, SecretKeyFileOtherUsersCanReadIsRefused) {
  const std::string prefix = testing::MakeTempDir() + "/server";
  ASSERT_THAT(WriteKeyFiles(prefix, NewKeys()), IsOk());
  const std::string path = prefix + ".key";

  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  absl::StatusOr<KeyPair> world_readable = ReadKeyFile(path);
  EXPECT_THAT(world_readable, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(world_readable.status().message(), HasSubstr("mode 0644"));
  EXPECT_THAT(world_readable.status().message(), HasSubstr("chmod 600 " + path));
  ASSERT_EQ(chmod(path.c_str(), 0602), 0);  // writable by anyone is as bad
  EXPECT_THAT(ReadKeyFile(path), StatusIs(absl::StatusCode::kPermissionDenied));

  ASSERT_EQ(chmod(path.c_str(), 0640), 0);  // a group (e.g. Kubernetes' fsGroup): a warning
  EXPECT_THAT(ReadKeyFile(path), IsOk());
  // A public key file may be read by anyone.
  ASSERT_EQ(chmod((prefix + ".pub").c_str(), 0644), 0);
  EXPECT_THAT(ReadKeyFile(prefix + ".pub"), IsOk());
}

TEST(CurveKeysTest, KeyFileWhosePublicKeyDoesNotMatchIsRefused) {
  const std::string path = testing::MakeTempDir() + "/mixed.key";
  WriteText(path, absl::StrCat("public-key = \"", NewKeys().public_key, "\"\nsecret-key = \"",
                               NewKeys().secret_key, "\"\n"));
  EXPECT_THAT(ReadKeyFile(path), StatusIs(absl::StatusCode::kInvalidArgument));
  WriteText(path, "public-key = \"not a key\"\n");
  absl::StatusOr<KeyPair> bad = ReadKeyFile(path);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(bad.status().message(), HasSubstr("line 1"));
}

TEST(AllowListTest, AcceptsBareKeysPubFileLinesAndComments) {
  const KeyPair alice = NewKeys();
  const KeyPair bob = NewKeys();
  absl::StatusOr<AllowList> allowed = ParseAllowList(
      absl::StrCat("# clients\n\n  ", alice.public_key, "  \n",
                   "# topicwire CURVE public key\npublic-key = \"", bob.public_key, "\"\n"));
  ASSERT_THAT(allowed, IsOk());
  EXPECT_EQ(allowed->size(), 2u);
  EXPECT_TRUE(allowed->contains(alice.public_key));
  EXPECT_TRUE(allowed->contains(bob.public_key));
}

TEST(AllowListTest, EmptyListIsValidAndAllowsNobody) {
  absl::StatusOr<AllowList> allowed = ParseAllowList("# nobody yet\n");
  ASSERT_THAT(allowed, IsOk());
  EXPECT_TRUE(allowed->empty());
}

TEST(AllowListTest, BadLineIsReportedWithItsNumber) {
  absl::StatusOr<AllowList> allowed =
      ParseAllowList(absl::StrCat("# ok\n", NewKeys().public_key, "\nnot-a-key\n"));
  EXPECT_THAT(allowed, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(allowed.status().message(), HasSubstr("line 3"));
}

TEST(AllowListTest, SecretKeyLineIsRefused) {
  absl::StatusOr<AllowList> allowed =
      ParseAllowList(absl::StrCat("secret-key = \"", NewKeys().secret_key, "\"\n"));
  EXPECT_THAT(allowed, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(allowed.status().message(), HasSubstr("secret key"));
}

TEST(ClientOptionsTest, NoKeysMeansPlaintextAndHalfAConfigurationIsAnError) {
  absl::StatusOr<ClientOptions> none = LoadClientOptions("", "");
  ASSERT_THAT(none, IsOk());
  EXPECT_FALSE(none->enabled());
  EXPECT_THAT(LoadClientOptions(NewKeys().public_key, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LoadClientOptions("", "/nonexistent/client"),
              StatusIs(absl::StatusCode::kInvalidArgument));

  const std::string prefix = testing::MakeTempDir() + "/client";
  const KeyPair client = NewKeys();
  ASSERT_THAT(WriteKeyFiles(prefix, client), IsOk());
  const KeyPair server = NewKeys();
  absl::StatusOr<ClientOptions> loaded = LoadClientOptions(server.public_key, prefix);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_TRUE(loaded->enabled());
  EXPECT_EQ(loaded->server_public_key, server.public_key);
  EXPECT_EQ(loaded->client_keys.secret_key, client.secret_key);
}

TEST(AuthenticatorStartTest, NeedsBothTheKeyFileAndTheAllowList) {
  zmq::context_t context;
  prometheus::Registry registry;
  EXPECT_THAT(Authenticator::Start(context, ServerOptions{.secret_key_file = "x.key"}, registry,
                                   "refused_total"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Authenticator::Start(context, ServerOptions{.allow_list_file = "allowed"}, registry,
                                   "refused_total"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AuthenticatorStartTest, OnlyOnePerContext) {
  zmq::context_t context;
  prometheus::Registry registry;
  auto first = Authenticator::Start(context, NewKeys(), AllowList{}, registry, "first_total");
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(Authenticator::Start(context, NewKeys(), AllowList{}, registry, "second_total"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// The ZAP protocol itself (RFC 27), spoken to the handler directly.
class ZapHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = Authenticator::Start(context_, server_, AllowList{allowed_.public_key},
                                        registry_, "topicwire_test_auth_refused_total");
    ASSERT_THAT(started, IsOk());
    authenticator_ = *std::move(started);
    ASSERT_THAT(ConfigureSocket(zap_client_, 0), IsOk());
    ASSERT_THAT(Connect(zap_client_, "inproc://zeromq.zap.01"), IsOk());
  }

  // Sends a ZAP request and returns the reply's status code.
  std::string Ask(const std::string& domain, const std::string& mechanism,
                  const std::string& credential) {
    Frames request;
    for (const std::string& text : {std::string("1.0"), std::string("42"), domain,
                                    std::string("127.0.0.1"), std::string("id"), mechanism}) {
      request.emplace_back(text.data(), text.size());
    }
    if (!credential.empty()) request.emplace_back(credential.data(), credential.size());
    EXPECT_THAT(SendFrames(zap_client_, request), IsOk());
    std::vector<zmq::pollitem_t> items = {{zap_client_.handle(), 0, ZMQ_POLLIN, 0}};
    absl::StatusOr<int> ready = Poll(items, absl::Seconds(5));
    if (!ready.ok() || *ready == 0) return "no reply";
    Frames reply;
    EXPECT_THAT(RecvFrames(zap_client_, reply), IsOk());
    if (reply.size() != 6) return "malformed reply";
    EXPECT_EQ(reply[0].to_string(), "1.0");
    EXPECT_EQ(reply[1].to_string(), "42");  // the request id is mirrored
    return reply[2].to_string();
  }

  static std::string Binary(const std::string& z85) {
    std::string bytes(32, '\0');
    zmq_z85_decode(reinterpret_cast<uint8_t*>(bytes.data()), z85.c_str());
    return bytes;
  }

  zmq::context_t context_;
  prometheus::Registry registry_;
  KeyPair server_ = NewKeys();
  KeyPair allowed_ = NewKeys();
  std::unique_ptr<Authenticator> authenticator_;
  zmq::socket_t zap_client_{context_, zmq::socket_type::req};
};

TEST_F(ZapHandlerTest, AllowListedCurveKeyIsAcceptedOthersAreRefusedAndCounted) {
  EXPECT_EQ(Ask("topicwire", "CURVE", Binary(allowed_.public_key)), "200");
  EXPECT_EQ(authenticator_->refused(Refusal::kUnknownKey), 0);
  EXPECT_EQ(Ask("topicwire", "CURVE", Binary(NewKeys().public_key)), "400");
  EXPECT_EQ(authenticator_->refused(Refusal::kUnknownKey), 1);
}

TEST_F(ZapHandlerTest, PlaintextIsAllowedOnlyOutsideTheCurveDomain) {
  EXPECT_EQ(Ask("", "NULL", ""), "200");  // the internal, unsecured sockets
  EXPECT_EQ(Ask("topicwire", "NULL", ""), "400");
  EXPECT_EQ(Ask("topicwire", "PLAIN", "user"), "400");
  EXPECT_EQ(authenticator_->refused(Refusal::kBadHandshake), 2);
}

// One handler, three allow-lists: each socket class admits only its own audience's keys.
TEST(ZapDomainTest, EachAudienceIsCheckedAgainstItsOwnAllowList) {
  zmq::context_t context;
  prometheus::Registry registry;
  const KeyPair client = NewKeys();
  const KeyPair stage = NewKeys();
  const KeyPair admin = NewKeys();
  auto authenticator = Authenticator::Start(context, NewKeys(),
                                            AllowLists{.clients = {client.public_key},
                                                       .stages = {stage.public_key},
                                                       .admins = {admin.public_key}},
                                            registry, "topicwire_test_auth_refused_total");
  ASSERT_THAT(authenticator, IsOk());
  zmq::socket_t zap(context, zmq::socket_type::req);
  ASSERT_THAT(ConfigureSocket(zap, 0), IsOk());
  ASSERT_THAT(Connect(zap, "inproc://zeromq.zap.01"), IsOk());
  auto ask = [&](Audience audience, const std::string& endpoint, const KeyPair& keys) {
    std::string key(32, '\0');
    zmq_z85_decode(reinterpret_cast<uint8_t*>(key.data()), keys.public_key.c_str());
    Frames request;
    for (const std::string& text :
         {std::string("1.0"), std::string("7"), ZapDomain(audience, endpoint),
          std::string("127.0.0.1"), std::string("id"), std::string("CURVE"), key}) {
      request.emplace_back(text.data(), text.size());
    }
    EXPECT_THAT(SendFrames(zap, request), IsOk());
    Frames reply;
    EXPECT_THAT(RecvFrames(zap, reply), IsOk());
    return reply.size() == 6 ? reply[2].to_string() : "malformed reply";
  };
  EXPECT_EQ(ZapDomain(Audience::kStages, "work"), "topicwire.internal.work");
  EXPECT_EQ(ask(Audience::kClients, "publish", client), "200");
  EXPECT_EQ(ask(Audience::kStages, "work", stage), "200");
  EXPECT_EQ(ask(Audience::kAdmins, "admin", admin), "200");
  // A client key on an internal or admin socket, a stage key on a public one: refused, counted
  // under the endpoint.
  EXPECT_EQ(ask(Audience::kStages, "input", client), "400");
  EXPECT_EQ(ask(Audience::kAdmins, "admin", client), "400");
  EXPECT_EQ(ask(Audience::kClients, "stream", stage), "400");
  EXPECT_EQ(ask(Audience::kStages, "commit", admin), "400");
  EXPECT_EQ((*authenticator)->refused(Refusal::kUnknownKey), 4);
  EXPECT_EQ((*authenticator)->refused(Refusal::kUnknownKey, "input"), 1);
  EXPECT_EQ((*authenticator)->refused(Refusal::kUnknownKey, "work"), 0);
}

// Allow-list files are reloaded on change: a removed key is refused for the next connection, a
// file that does not parse keeps the old list in force and is counted.
class AllowListReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    ASSERT_THAT(WriteKeyFiles(dir_ + "/server", server_keys_), IsOk());
    Rewrite("clients", alice_.public_key + "\n" + bob_.public_key + "\n");
    Rewrite("stages", "");
  }

  void Start(int reload_fd, absl::Duration interval) {
    auto started = Authenticator::Start(context_,
                                        ServerOptions{.secret_key_file = dir_ + "/server.key",
                                                      .allow_list_file = dir_ + "/clients",
                                                      .stage_allow_list_file = dir_ + "/stages",
                                                      .reload_fd = reload_fd,
                                                      .allow_list_check_interval = interval},
                                        registry_, "topicwire_test_auth_refused_total");
    ASSERT_THAT(started, IsOk());
    authenticator_ = *std::move(started);
    ASSERT_THAT(ConfigureSocket(server_, 0), IsOk());
    ASSERT_THAT(authenticator_->SecureServer(server_, Audience::kClients, "publish"), IsOk());
    endpoint_ = testing::BindLoopback(server_);
  }

  // Replaces the file as an editor or a config manager would: a new file renamed over the old.
  void Rewrite(const std::string& name, const std::string& text) {
    WriteText(dir_ + "/" + name + ".new", text);
    ASSERT_EQ(std::rename((dir_ + "/" + name + ".new").c_str(), (dir_ + "/" + name).c_str()), 0);
  }

  // Whether a fresh connection with `keys` gets a message through within `timeout`.
  bool Admitted(const KeyPair& keys, absl::Duration timeout) {
    zmq::socket_t client(context_, zmq::socket_type::dealer);
    EXPECT_THAT(ConfigureSocket(client, 0), IsOk());
    EXPECT_THAT(SecureClient(client, keys, server_keys_.public_key), IsOk());
    EXPECT_THAT(Connect(client, endpoint_), IsOk());
    Frames hello;
    hello.emplace_back("hello", 5);
    EXPECT_THAT(SendFrames(client, hello), IsOk());
    std::vector<zmq::pollitem_t> items = {{server_.handle(), 0, ZMQ_POLLIN, 0}};
    absl::StatusOr<int> ready = Poll(items, timeout);
    if (!ready.ok() || *ready == 0) return false;
    Frames frames;
    EXPECT_THAT(RecvFrames(server_, frames), IsOk());
    return true;
  }

  zmq::context_t context_;
  prometheus::Registry registry_;
  std::string dir_;
  KeyPair server_keys_ = NewKeys();
  KeyPair alice_ = NewKeys();
  KeyPair bob_ = NewKeys();
  std::unique_ptr<Authenticator> authenticator_;
  zmq::socket_t server_{context_, zmq::socket_type::router};
  std::string endpoint_;
};

TEST_F(AllowListReloadTest, RevokedKeyIsRefusedWithoutARestartAndABadFileKeepsTheOldList) {
  Start(/*reload_fd=*/-1, absl::Milliseconds(50));
  ASSERT_TRUE(Admitted(alice_, absl::Seconds(5)));
  ASSERT_TRUE(Admitted(bob_, absl::Seconds(5)));

  Rewrite("clients", bob_.public_key + "\n");  // alice revoked
  EXPECT_TRUE(
      WaitFor([&] { return !Admitted(alice_, absl::Milliseconds(300)); }, absl::Seconds(5)));
  EXPECT_GE(authenticator_->refused(Refusal::kUnknownKey, "publish"), 1);
  EXPECT_TRUE(Admitted(bob_, absl::Seconds(5)));

  const double refused_before = authenticator_->reload_errors();
  Rewrite("clients", "not a key\n");
  EXPECT_TRUE(
      WaitFor([&] { return authenticator_->reload_errors() > refused_before; }, absl::Seconds(5)));
  EXPECT_TRUE(Admitted(bob_, absl::Seconds(5))) << "a bad file replaced the list in force";
  EXPECT_FALSE(Admitted(alice_, absl::Milliseconds(300)));
}

TEST_F(AllowListReloadTest, ReloadSignalReloadsAtOnce) {
  const int reload_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(reload_fd, 0);
  Start(reload_fd, absl::ZeroDuration());  // no polling: only the signal reloads
  ASSERT_TRUE(Admitted(alice_, absl::Seconds(5)));
  Rewrite("clients", bob_.public_key + "\n");
  EXPECT_TRUE(Admitted(alice_, absl::Seconds(5))) << "reloaded without being asked to";
  const uint64_t one = 1;
  ASSERT_EQ(write(reload_fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  EXPECT_TRUE(
      WaitFor([&] { return !Admitted(alice_, absl::Milliseconds(300)); }, absl::Seconds(5)));
  EXPECT_TRUE(Admitted(bob_, absl::Seconds(5)));
  authenticator_.reset();
  close(reload_fd);
}

// Real CURVE handshakes over TCP: a ROUTER secured by the authenticator.
class CurveServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = Authenticator::Start(context_, server_keys_, AllowList{allowed_.public_key},
                                        registry_, "topicwire_test_auth_refused_total");
    ASSERT_THAT(started, IsOk());
    authenticator_ = *std::move(started);
    ASSERT_THAT(ConfigureSocket(server_, 0), IsOk());
    ASSERT_THAT(authenticator_->SecureServer(server_), IsOk());
    endpoint_ = testing::BindLoopback(server_);
  }

  // A DEALER that connects and sends `payload`; CURVE when `keys` is set.
  zmq::socket_t Client(const KeyPair* keys, const std::string& server_key,
                       const std::string& payload = "hello") {
    zmq::socket_t client(context_, zmq::socket_type::dealer);
    EXPECT_THAT(ConfigureSocket(client, 0), IsOk());
    if (keys != nullptr) {
      EXPECT_THAT(SecureClient(client, *keys, server_key), IsOk());
    }
    EXPECT_THAT(Connect(client, endpoint_), IsOk());
    Frames frames;
    frames.emplace_back(payload.data(), payload.size());
    EXPECT_THAT(SendFrames(client, frames), IsOk());
    return client;
  }
  // Whether the server receives a message within `timeout`.
  bool ServerReceives(absl::Duration timeout) {
    std::vector<zmq::pollitem_t> items = {{server_.handle(), 0, ZMQ_POLLIN, 0}};
    absl::StatusOr<int> ready = Poll(items, timeout);
    if (!ready.ok() || *ready == 0) return false;
    Frames frames;
    EXPECT_THAT(RecvFrames(server_, frames), IsOk());
    return frames.size() == 2 && frames[1].to_string() == "hello";
  }

  // The payloads the server receives up to an allow-listed client's marker message, sent from a
  // connection started now, plus any already queued behind it. The marker is awaited with the
  // full timeout. Both connections are served by the context's one I/O thread, which settles an
  // earlier client's handshake (and would queue its message, had it been admitted) before it
  // completes the later handshake, so an admitted earlier message is in the socket by the time
  // the marker is read.
  std::vector<std::string> ReceivedUpToAMarker() {
    zmq::socket_t marker = Client(&allowed_, server_keys_.public_key, "marker");
    std::vector<std::string> payloads;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    bool marker_seen = false;
    while (absl::Now() < deadline) {
      std::vector<zmq::pollitem_t> items = {{server_.handle(), 0, ZMQ_POLLIN, 0}};
      absl::StatusOr<int> ready =
          Poll(items, marker_seen ? absl::ZeroDuration() : deadline - absl::Now());
      if (!ready.ok() || *ready == 0) break;
      Frames frames;
      EXPECT_THAT(RecvFrames(server_, frames), IsOk());
      if (frames.size() != 2) continue;
      payloads.push_back(frames[1].to_string());
      if (payloads.back() == "marker") marker_seen = true;
    }
    EXPECT_TRUE(marker_seen) << "the allow-listed client's message never arrived";
    return payloads;
  }

  zmq::context_t context_;
  prometheus::Registry registry_;
  KeyPair server_keys_ = NewKeys();
  KeyPair allowed_ = NewKeys();
  std::unique_ptr<Authenticator> authenticator_;
  zmq::socket_t server_{context_, zmq::socket_type::router};
  std::string endpoint_;
};

TEST_F(CurveServerTest, AllowListedClientGetsThrough) {
  zmq::socket_t client = Client(&allowed_, server_keys_.public_key);
  EXPECT_TRUE(ServerReceives(absl::Seconds(5)));
  EXPECT_EQ(authenticator_->refused(Refusal::kUnknownKey), 0);
  EXPECT_EQ(authenticator_->refused(Refusal::kPlaintext), 0);
}

TEST_F(CurveServerTest, UnknownKeyIsRefusedAndCounted) {
  const KeyPair stranger = NewKeys();
  zmq::socket_t client = Client(&stranger, server_keys_.public_key);
  EXPECT_TRUE(WaitFor([&] { return authenticator_->refused(Refusal::kUnknownKey) >= 1; },
                      absl::Seconds(5)));
  EXPECT_THAT(ReceivedUpToAMarker(), ElementsAre("marker"));
}

TEST_F(CurveServerTest, PlaintextClientIsRefusedAndCounted) {
  zmq::socket_t client = Client(nullptr, "");
  EXPECT_TRUE(
      WaitFor([&] { return authenticator_->refused(Refusal::kPlaintext) >= 1; }, absl::Seconds(5)));
  EXPECT_THAT(ReceivedUpToAMarker(), ElementsAre("marker"));
}

TEST_F(CurveServerTest, ClientWithTheWrongServerKeyIsRefusedAndCounted) {
  zmq::socket_t client = Client(&allowed_, NewKeys().public_key);
  EXPECT_TRUE(WaitFor([&] { return authenticator_->refused(Refusal::kBadHandshake) >= 1; },
                      absl::Seconds(5)));
  EXPECT_THAT(ReceivedUpToAMarker(), ElementsAre("marker"));
}

}  // namespace
}  // namespace topicwire::curve
