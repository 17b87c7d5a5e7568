#include "common/curve.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "common/zmq_channel.h"
#include "spdlog/spdlog.h"

namespace topicwire::curve {
namespace {

constexpr size_t kZ85KeyLength = 40;
constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";

// A `public-key = "..."` / `secret-key = "..."` line, or nothing for any other line. Z85 keys may
// contain '=', so only these two names are recognised.
struct NamedValue {
  std::string name;
  std::string value;
};
std::optional<NamedValue> ParseNamedValue(absl::string_view line) {
  for (absl::string_view name : {"public-key", "secret-key"}) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, name)) continue;
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (!absl::ConsumePrefix(&rest, "=")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') {
      rest = rest.substr(1, rest.size() - 2);
    }
    return NamedValue{std::string(name), std::string(rest)};
  }
  return std::nullopt;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

bool IsFile(const std::string& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

absl::Status WriteFile(const std::string& path, const std::string& text, int flags, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " exists; remove it or choose another --out prefix"));
    }
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  const ssize_t written = write(fd, text.data(), text.size());
  const bool ok = written == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status SetSocketOption(zmq::socket_t& socket, int option, const void* value, size_t size,
                             absl::string_view what) {
  // The C API reports errors by return value; cppzmq's set() would throw.
  if (zmq_setsockopt(socket.handle(), option, value, size) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot set ", what, ": ", zmq_strerror(zmq_errno())));
  }
  return absl::OkStatus();
}

absl::Status SetKey(zmq::socket_t& socket, int option, const std::string& key,
                    absl::string_view what) {
  return SetSocketOption(socket, option, key.data(), key.size(), what);
}

}  // namespace

bool Available() { return zmq_has("curve") != 0; }

absl::StatusOr<KeyPair> GenerateKeyPair() {
  char public_key[kZ85KeyLength + 1] = {};
  char secret_key[kZ85KeyLength + 1] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return absl::UnimplementedError(
        absl::StrCat("cannot generate a CURVE key pair (libzmq built without libsodium?): ",
                     zmq_strerror(zmq_errno())));
  }
  return KeyPair{.public_key = public_key, .secret_key = secret_key};
}

absl::Status ValidateKey(absl::string_view key) {
  uint8_t decoded[32];
  const std::string text(key);
  if (text.size() != kZ85KeyLength || zmq_z85_decode(decoded, text.c_str()) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", absl::CHexEscape(key.substr(0, 60)),
                     "' is not a CURVE key (40 Z85 characters, as `topicwire keygen` writes)"));
  }
  return absl::OkStatus();
}

absl::Status WriteKeyFiles(const std::string& prefix, const KeyPair& keys) {
  RETURN_IF_ERROR(ValidateKey(keys.public_key));
  RETURN_IF_ERROR(ValidateKey(keys.secret_key));
  const std::filesystem::path parent = std::filesystem::path(prefix).parent_path();
  if (std::error_code error; !parent.empty()) std::filesystem::create_directories(parent, error);
  RETURN_IF_ERROR(WriteFile(
      prefix + ".key",
      absl::StrCat("# topicwire CURVE secret key: keep it private (mode 0600)\n", "public-key = \"",
                   keys.public_key, "\"\n", "secret-key = \"", keys.secret_key, "\"\n"),
      O_EXCL, 0600));
  return WriteFile(prefix + ".pub",
                   absl::StrCat("# topicwire CURVE public key: share it, add it to allow-lists\n",
                                "public-key = \"", keys.public_key, "\"\n"),
                   O_TRUNC, 0644);
}

absl::StatusOr<KeyPair> ReadKeyFile(const std::string& path_or_prefix) {
  std::string path = path_or_prefix;
  if (!IsFile(path) && IsFile(path + ".key")) path += ".key";
  ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(path));
  KeyPair keys;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::optional<NamedValue> named = ParseNamedValue(line);
    if (!named.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " line ", line_number,
          ": expected public-key = \"...\" or secret-key = \"...\" (see topicwire keygen)"));
    }
    if (absl::Status valid = ValidateKey(named->value); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", line_number, ": ", valid.message()));
    }
    (named->name == "public-key" ? keys.public_key : keys.secret_key) = named->value;
  }
  if (!keys.secret_key.empty()) {
    char derived[kZ85KeyLength + 1] = {};
    if (zmq_curve_public(derived, keys.secret_key.c_str()) != 0) {
      return absl::UnimplementedError("libzmq was built without CURVE support");
    }
    if (keys.public_key.empty()) keys.public_key = derived;
    if (keys.public_key != derived) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": the public key does not belong to the secret key"));
    }
    struct stat info {};
    if (stat(path.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
      spdlog::warn("{} holds a secret key but others can read it: chmod 600 {}", path, path);
    }
  }
  if (keys.public_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " holds no key"));
  }
  return keys;
}

absl::StatusOr<std::string> ResolvePublicKey(const std::string& key_or_file) {
  if (ValidateKey(key_or_file).ok() && !IsFile(key_or_file)) return key_or_file;
  for (const std::string& path : {key_or_file, key_or_file + ".pub", key_or_file + ".key"}) {
    if (!IsFile(path)) continue;
    ASSIGN_OR_RETURN(KeyPair keys, ReadKeyFile(path));
    return keys.public_key;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", key_or_file, "' is neither a CURVE public key (40 Z85 characters) nor a key file"));
}

absl::StatusOr<AllowList> ParseAllowList(absl::string_view text) {
  AllowList allowed;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::string key(line);
    if (std::optional<NamedValue> named = ParseNamedValue(line); named.has_value()) {
      if (named->name == "secret-key") {
        return absl::InvalidArgumentError(absl::StrCat(
            "allow-list line ", line_number,
            ": a secret key does not belong in an allow-list; list the client's .pub file"));
      }
      key = named->value;
    }
    if (absl::Status valid = ValidateKey(key); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("allow-list line ", line_number, ": ", valid.message()));
    }
    allowed.insert(std::move(key));
  }
  return allowed;
}

absl::StatusOr<AllowList> ReadAllowList(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(path));
  absl::StatusOr<AllowList> allowed = ParseAllowList(text);
  if (!allowed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", allowed.status().message()));
  }
  return allowed;
}

absl::string_view RefusalLabel(Refusal refusal) {
  switch (refusal) {
    case Refusal::kUnknownKey:
      return "unknown_key";
    case Refusal::kPlaintext:
      return "plaintext";
    case Refusal::kBadHandshake:
      return "bad_handshake";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Start(
    zmq::context_t& context, const ServerOptions& options, prometheus::Registry& registry,
    const std::string& metric_name) {
  if (options.secret_key_file.empty() || options.allow_list_file.empty()) {
    return absl::InvalidArgumentError(
        "CURVE needs both the server's key file and the allow-list of client keys "
        "(--curve_secret_key_file and --curve_allow); give both or neither");
  }
  ASSIGN_OR_RETURN(KeyPair keys, ReadKeyFile(options.secret_key_file));
  if (keys.secret_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.secret_key_file, " holds no secret key: pass the PREFIX.key file of keygen"));
  }
  ASSIGN_OR_RETURN(AllowList allowed, ReadAllowList(options.allow_list_file));
  if (allowed.empty()) {
    spdlog::warn("{} lists no client keys: every client will be refused", options.allow_list_file);
  }
  return Start(context, keys, std::move(allowed), registry, metric_name);
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Start(
    zmq::context_t& context, const KeyPair& server_keys, AllowList allowed,
    prometheus::Registry& registry, const std::string& metric_name) {
  if (!Available()) {
    return absl::UnimplementedError("this libzmq has no CURVE support (built without libsodium)");
  }
  RETURN_IF_ERROR(ValidateKey(server_keys.public_key));
  RETURN_IF_ERROR(ValidateKey(server_keys.secret_key));
  std::unique_ptr<Authenticator> authenticator(
      new Authenticator(context, server_keys, std::move(allowed), registry, metric_name));
  RETURN_IF_ERROR(authenticator->Bind());
  authenticator->thread_ = std::thread([raw = authenticator.get()] { raw->Run(); });
  return authenticator;
}

Authenticator::Authenticator(zmq::context_t& context, KeyPair server_keys, AllowList allowed,
                             prometheus::Registry& registry, const std::string& metric_name)
    : context_(context),
      server_keys_(std::move(server_keys)),
      allowed_(std::move(allowed)),
      zap_(context, zmq::socket_type::rep) {
  auto& family = prometheus::BuildCounter()
                     .Name(metric_name)
                     .Help("Connections refused on the CURVE-secured endpoints, by reason")
                     .Register(registry);
  for (Refusal reason : {Refusal::kUnknownKey, Refusal::kPlaintext, Refusal::kBadHandshake}) {
    refused_[static_cast<int>(reason)] =
        &family.Add({{"reason", std::string(RefusalLabel(reason))}});
  }
}

absl::Status Authenticator::Bind() {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    return absl::UnavailableError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  RETURN_IF_ERROR(ConfigureSocket(zap_, /*linger_ms=*/0));
  absl::Status bound = topicwire::Bind(zap_, kZapEndpoint);
  if (!bound.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot start the CURVE authenticator (is another one running on this context?): ",
        bound.message()));
  }
  return absl::OkStatus();
}

Authenticator::~Authenticator() {
  if (thread_.joinable()) {
    stopping_ = true;
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::Status Authenticator::SecureServer(zmq::socket_t& socket) {
  const int on = 1;
  RETURN_IF_ERROR(SetSocketOption(socket, ZMQ_CURVE_SERVER, &on, sizeof(on), "CURVE server"));
  RETURN_IF_ERROR(SetKey(socket, ZMQ_CURVE_SECRETKEY, server_keys_.secret_key,
                         "the server's CURVE secret key"));
  RETURN_IF_ERROR(SetSocketOption(socket, ZMQ_ZAP_DOMAIN, kZapDomain.data(), kZapDomain.size(),
                                  "the ZAP domain"));
  // A plaintext client or one holding the wrong server key fails in the CURVE handshake itself,
  // before ZAP is asked: only the socket's own events show those refusals.
  static std::atomic<int> next_monitor{0};
  const std::string address = absl::StrCat("inproc://topicwire-curve-monitor-", next_monitor++);
  if (zmq_socket_monitor(
          socket.handle(), address.c_str(),
          ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot monitor a CURVE socket: ", zmq_strerror(zmq_errno())));
  }
  zmq::socket_t monitor(context_, zmq::socket_type::pair);
  RETURN_IF_ERROR(ConfigureSocket(monitor, /*linger_ms=*/0));
  RETURN_IF_ERROR(Connect(monitor, address));
  {
    // The mutex hands the socket to the handler thread with the memory barrier libzmq requires
    // for moving a socket between threads.
    std::lock_guard<std::mutex> lock(mutex_);
    new_monitors_.push_back(std::move(monitor));
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  return absl::OkStatus();
}

double Authenticator::refused(Refusal reason) const {
  return refused_[static_cast<int>(reason)]->Value();
}

void Authenticator::Refuse(Refusal reason, absl::string_view detail) {
  const int index = static_cast<int>(reason);
  refused_[index]->Increment();
  // A refused client reconnects every 100 ms or so (libzmq's default): log once a second.
  const absl::Time now = absl::Now();
  if (now - last_logged_[index] < absl::Seconds(1)) {
    ++unlogged_[index];
    return;
  }
  last_logged_[index] = now;
  if (unlogged_[index] > 0) {
    spdlog::warn("refused a connection ({}): {} (and {} more since the last report)",
                 std::string(RefusalLabel(reason)), std::string(detail), unlogged_[index]);
  } else {
    spdlog::warn("refused a connection ({}): {}", std::string(RefusalLabel(reason)),
                 std::string(detail));
  }
  unlogged_[index] = 0;
}

void Authenticator::Run() {
  std::vector<zmq::socket_t> monitors;
  while (true) {
    std::vector<zmq::pollitem_t> items = {{zap_.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
    for (zmq::socket_t& monitor : monitors) items.push_back({monitor.handle(), 0, ZMQ_POLLIN, 0});
    absl::StatusOr<int> ready = Poll(items, absl::InfiniteDuration());
    if (!ready.ok()) {
      if (ready.status().code() != absl::StatusCode::kCancelled) {
        spdlog::error("CURVE authenticator stops: {}", ready.status().ToString());
      }
      return;
    }
    if (items[1].revents & ZMQ_POLLIN) {
      uint64_t count = 0;
      (void)!read(wake_fd_, &count, sizeof(count));
      if (stopping_) return;
      std::lock_guard<std::mutex> lock(mutex_);
      for (zmq::socket_t& monitor : new_monitors_) monitors.push_back(std::move(monitor));
      new_monitors_.clear();
    }
    if (items[0].revents & ZMQ_POLLIN) AnswerZap();
    for (size_t i = 2; i < items.size(); ++i) {
      if (items[i].revents & ZMQ_POLLIN) DrainMonitor(monitors[i - 2]);
    }
  }
}

// ZAP (RFC 27): request [version, request id, domain, address, routing id, mechanism,
// credentials...]; reply [version, request id, status code, status text, user id, metadata].
void Authenticator::AnswerZap() {
  Frames request;
  absl::StatusOr<bool> got = RecvFrames(zap_, request, /*dont_wait=*/true);
  if (!got.ok() || !*got) return;
  auto frame_text = [&request](size_t i) {
    return i < request.size() ? request[i].to_string() : std::string();
  };
  const std::string version = frame_text(0);
  const std::string domain = frame_text(2);
  const std::string address = frame_text(3);
  const std::string mechanism = frame_text(5);
  std::string status = "400";
  std::string status_text = "refused";
  std::string user_id;
  if (version != "1.0" || request.size() < 6) {
    status = "500";
    status_text = "malformed ZAP request";
  } else if (mechanism == "CURVE" && request.size() >= 7 && request[6].size() == 32) {
    char z85[kZ85KeyLength + 1] = {};
    zmq_z85_encode(z85, static_cast<const uint8_t*>(request[6].data()), 32);
    if (allowed_.contains(z85)) {
      status = "200";
      status_text = "OK";
      user_id = z85;
    } else {
      Refuse(Refusal::kUnknownKey,
             absl::StrCat("client key ", z85, " from ", address, " is not in the allow-list"));
    }
  } else if (mechanism == "NULL" && domain != kZapDomain) {
    // The process' unsecured sockets (internal endpoints) stay plaintext, as before.
    status = "200";
    status_text = "OK";
  } else {
    Refuse(Refusal::kBadHandshake,
           absl::StrCat("mechanism ", mechanism, " from ", address, " is not accepted"));
  }
  Frames reply;
  for (const std::string& text : {version.empty() ? std::string("1.0") : version, frame_text(1),
                                  status, status_text, user_id, std::string()}) {
    reply.emplace_back(text.data(), text.size());
  }
  if (absl::Status sent = SendFrames(zap_, reply); !sent.ok()) {
    spdlog::warn("cannot answer a ZAP request: {}", sent.ToString());
  }
}

void Authenticator::DrainMonitor(zmq::socket_t& monitor) {
  while (true) {
    Frames frames;
    absl::StatusOr<bool> got = RecvFrames(monitor, frames, /*dont_wait=*/true);
    if (!got.ok() || !*got) return;
    // Monitor events: [uint16 event, uint32 value][endpoint].
    if (frames.empty() || frames[0].size() < sizeof(uint16_t) + sizeof(uint32_t)) continue;
    uint16_t event = 0;
    uint32_t value = 0;
    std::memcpy(&event, frames[0].data(), sizeof(event));
    std::memcpy(&value, static_cast<const char*>(frames[0].data()) + sizeof(event), sizeof(value));
    const std::string endpoint = frames.size() > 1 ? frames[1].to_string() : std::string();
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
        value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
      Refuse(Refusal::kPlaintext,
             absl::StrCat("a client without CURVE keys connected to ", endpoint));
    } else {
      Refuse(Refusal::kBadHandshake,
             absl::StrCat("failed CURVE handshake on ", endpoint, " (protocol error ", value,
                          "; a wrong server key?)"));
    }
  }
}

absl::Status SecureClient(zmq::socket_t& socket, const KeyPair& client_keys,
                          const std::string& server_public_key) {
  RETURN_IF_ERROR(ValidateKey(server_public_key));
  RETURN_IF_ERROR(ValidateKey(client_keys.public_key));
  RETURN_IF_ERROR(ValidateKey(client_keys.secret_key));
  RETURN_IF_ERROR(
      SetKey(socket, ZMQ_CURVE_SERVERKEY, server_public_key, "the server's CURVE public key"));
  RETURN_IF_ERROR(
      SetKey(socket, ZMQ_CURVE_PUBLICKEY, client_keys.public_key, "the client's public key"));
  return SetKey(socket, ZMQ_CURVE_SECRETKEY, client_keys.secret_key, "the client's secret key");
}

absl::StatusOr<ClientOptions> LoadClientOptions(const std::string& server_key,
                                                const std::string& client_key_file) {
  ClientOptions options;
  if (server_key.empty() && client_key_file.empty()) return options;
  if (server_key.empty() || client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "CURVE needs both the server's public key (--curve-server-key) and this client's key "
        "file (--curve-key PREFIX from topicwire keygen)");
  }
  ASSIGN_OR_RETURN(options.server_public_key, ResolvePublicKey(server_key));
  ASSIGN_OR_RETURN(options.client_keys, ReadKeyFile(client_key_file));
  if (options.client_keys.secret_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        client_key_file, " holds no secret key: pass the PREFIX.key file of topicwire keygen"));
  }
  return options;
}

absl::Status ApplyClientOptions(zmq::socket_t& socket, const ClientOptions& options) {
  if (!options.enabled()) return absl::OkStatus();
  return SecureClient(socket, options.client_keys, options.server_public_key);
}

}  // namespace topicwire::curve
