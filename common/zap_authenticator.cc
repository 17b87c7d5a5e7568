#include "common/zap_authenticator.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "common/zmq_channel.h"
#include "spdlog/spdlog.h"

namespace topicwire::curve {
namespace {

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";

}  // namespace

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
  auto& family = CounterFamily(registry, metric_name,
                               "Connections refused on the CURVE-secured endpoints, by reason");
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
  RETURN_IF_ERROR(SetCurveServer(socket, server_keys_.secret_key, kZapDomain));
  // A plaintext client or one holding the wrong server key fails in the CURVE handshake itself,
  // before ZAP is asked: only the socket's own events show those refusals.
  ASSIGN_OR_RETURN(SocketMonitor monitor,
                   SocketMonitor::Start(
                       context_, socket,
                       ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL));
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
  std::vector<SocketMonitor> monitors;
  while (true) {
    std::vector<zmq::pollitem_t> items = {{zap_.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
    for (SocketMonitor& monitor : monitors) items.push_back({monitor.handle(), 0, ZMQ_POLLIN, 0});
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
      for (SocketMonitor& monitor : new_monitors_) monitors.push_back(std::move(monitor));
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

void Authenticator::DrainMonitor(SocketMonitor& monitor) {
  absl::StatusOr<std::vector<SocketEvent>> events = monitor.Drain();
  if (!events.ok()) return;
  for (const SocketEvent& event : *events) {
    if (event.event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
        event.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
      Refuse(Refusal::kPlaintext,
             absl::StrCat("a client without CURVE keys connected to ", event.endpoint));
    } else {
      Refuse(Refusal::kBadHandshake,
             absl::StrCat("failed CURVE handshake on ", event.endpoint, " (protocol error ",
                          event.value, "; a wrong server key?)"));
    }
  }
}

}  // namespace topicwire::curve
