#include "common/zap_authenticator.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "common/zmq_channel.h"
#include "spdlog/spdlog.h"

namespace topicwire::curve {
namespace {

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
constexpr Audience kAudiences[] = {Audience::kClients, Audience::kStages, Audience::kAdmins};

// What identifies one version of a file: device, inode, size and modification time. Empty when
// the file cannot be stat'ed.
std::string FileStamp(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return "";
  return absl::StrCat(info.st_dev, ":", info.st_ino, ":", info.st_size, ":", info.st_mtim.tv_sec,
                      ".", info.st_mtim.tv_nsec, ":", info.st_ctim.tv_sec, ".",
                      info.st_ctim.tv_nsec);
}

// The audience and endpoint of one of our ZAP domains ("topicwire.internal.work"); nullopt for
// any other domain. The bare "topicwire" of older builds is the clients' domain.
std::optional<std::pair<Audience, std::string>> ParseDomain(absl::string_view domain) {
  if (domain == kZapDomain) return std::make_pair(Audience::kClients, std::string("public"));
  if (!absl::ConsumePrefix(&domain, kZapDomain) || !absl::ConsumePrefix(&domain, ".")) {
    return std::nullopt;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(domain, absl::MaxSplits('.', 1));
  if (parts.size() != 2) return std::nullopt;
  for (Audience audience : kAudiences) {
    if (parts[0] == AudienceName(audience)) {
      return std::make_pair(audience, std::string(parts[1]));
    }
  }
  return std::nullopt;
}

std::string MetricPrefix(const std::string& metric_name) {
  return std::string(absl::StripSuffix(metric_name, "_refused_total"));
}

}  // namespace

absl::string_view AudienceName(Audience audience) {
  switch (audience) {
    case Audience::kClients:
      return "public";
    case Audience::kStages:
      return "internal";
    case Audience::kAdmins:
      return "admin";
  }
  return "unknown";
}

std::string ZapDomain(Audience audience, absl::string_view endpoint) {
  return absl::StrCat(kZapDomain, ".", AudienceName(audience), ".", endpoint);
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

absl::StatusOr<int> BlockSighupIntoFd() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
    return absl::InternalError("cannot block SIGHUP");
  }
  const int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return absl::InternalError(absl::StrCat("signalfd: ", std::strerror(errno)));
  return fd;
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Start(
    zmq::context_t& context, const ServerOptions& options, prometheus::Registry& registry,
    const std::string& metric_name) {
  if (options.secret_key_file.empty() || options.allow_list_file.empty() ||
      options.stage_allow_list_file.empty()) {
    return absl::InvalidArgumentError(
        "CURVE secures every endpoint, so it needs the stage's key file "
        "(--curve_secret_key_file), the allow-list of client keys (--curve_allow) and the "
        "allow-list of stage keys (--curve_stage_allow); give all three or none");
  }
  ASSIGN_OR_RETURN(KeyPair keys, ReadKeyFile(options.secret_key_file));
  if (keys.secret_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.secret_key_file, " holds no secret key: pass the PREFIX.key file of keygen"));
  }
  AllowLists allowed;
  ASSIGN_OR_RETURN(allowed.clients, ReadAllowList(options.allow_list_file));
  ASSIGN_OR_RETURN(allowed.stages, ReadAllowList(options.stage_allow_list_file));
  if (!options.admin_allow_list_file.empty()) {
    ASSIGN_OR_RETURN(allowed.admins, ReadAllowList(options.admin_allow_list_file));
  }
  if (allowed.clients.empty()) {
    spdlog::warn("{} lists no client keys: every client will be refused", options.allow_list_file);
  }
  if (allowed.stages.empty()) {
    spdlog::warn("{} lists no stage keys: every other stage will be refused",
                 options.stage_allow_list_file);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Authenticator> authenticator,
                   Create(context, keys, std::move(allowed), registry, metric_name));
  authenticator->files_[static_cast<int>(Audience::kClients)].path = options.allow_list_file;
  authenticator->files_[static_cast<int>(Audience::kStages)].path = options.stage_allow_list_file;
  authenticator->files_[static_cast<int>(Audience::kAdmins)].path = options.admin_allow_list_file;
  for (WatchedFile& file : authenticator->files_) {
    if (!file.path.empty()) file.stamp = FileStamp(file.path);
  }
  authenticator->reload_fd_ = options.reload_fd;
  authenticator->check_interval_ = options.allow_list_check_interval;
  RETURN_IF_ERROR(authenticator->Launch());
  return authenticator;
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Start(
    zmq::context_t& context, const KeyPair& server_keys, AllowList allowed,
    prometheus::Registry& registry, const std::string& metric_name) {
  return Start(context, server_keys, AllowLists{.clients = std::move(allowed)}, registry,
               metric_name);
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Start(
    zmq::context_t& context, const KeyPair& server_keys, AllowLists allowed,
    prometheus::Registry& registry, const std::string& metric_name) {
  ASSIGN_OR_RETURN(std::unique_ptr<Authenticator> authenticator,
                   Create(context, server_keys, std::move(allowed), registry, metric_name));
  RETURN_IF_ERROR(authenticator->Launch());
  return authenticator;
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(
    zmq::context_t& context, const KeyPair& server_keys, AllowLists allowed,
    prometheus::Registry& registry, const std::string& metric_name) {
  if (!Available()) {
    return absl::UnimplementedError("this libzmq has no CURVE support (built without libsodium)");
  }
  RETURN_IF_ERROR(ValidateKey(server_keys.public_key));
  RETURN_IF_ERROR(ValidateKey(server_keys.secret_key));
  return std::unique_ptr<Authenticator>(
      new Authenticator(context, server_keys, std::move(allowed), registry, metric_name));
}

absl::Status Authenticator::Launch() {
  RETURN_IF_ERROR(Bind());
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

Authenticator::Authenticator(zmq::context_t& context, KeyPair server_keys, AllowLists allowed,
                             prometheus::Registry& registry, const std::string& metric_name)
    : context_(context),
      server_keys_(std::move(server_keys)),
      allowed_(std::move(allowed)),
      refused_family_(CounterFamily(registry, metric_name,
                                    "Connections refused on the CURVE-secured endpoints, by "
                                    "endpoint and reason")),
      zap_(context, zmq::socket_type::rep) {
  auto& reloads = CounterFamily(registry, MetricPrefix(metric_name) + "_allow_list_reloads_total",
                                "Allow-list files reloaded after a change or SIGHUP, by result "
                                "(error: the old list stays in force)");
  reloads_ok_ = &reloads.Add({{"result", "ok"}});
  reload_errors_ = &reloads.Add({{"result", "error"}});
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

absl::Status Authenticator::SecureServer(zmq::socket_t& socket, Audience audience,
                                         absl::string_view endpoint) {
  RETURN_IF_ERROR(SetCurveServer(socket, server_keys_.secret_key, ZapDomain(audience, endpoint)));
  for (Refusal reason : {Refusal::kUnknownKey, Refusal::kPlaintext, Refusal::kBadHandshake}) {
    RefusedCounter(reason, endpoint);  // every series shows from the start, at 0
  }
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
    new_monitors_.push_back(WatchedSocket{std::move(monitor), std::string(endpoint)});
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  return absl::OkStatus();
}

prometheus::Counter& Authenticator::RefusedCounter(Refusal reason, absl::string_view endpoint) {
  std::lock_guard<std::mutex> lock(counters_mutex_);
  prometheus::Counter*& counter = refused_[{static_cast<int>(reason), std::string(endpoint)}];
  if (counter == nullptr) {
    counter = &refused_family_.Add(
        {{"endpoint", std::string(endpoint)}, {"reason", std::string(RefusalLabel(reason))}});
  }
  return *counter;
}

double Authenticator::refused(Refusal reason) const {
  std::lock_guard<std::mutex> lock(counters_mutex_);
  double total = 0;
  for (const auto& [key, counter] : refused_) {
    if (key.first == static_cast<int>(reason)) total += counter->Value();
  }
  return total;
}

double Authenticator::refused(Refusal reason, absl::string_view endpoint) const {
  std::lock_guard<std::mutex> lock(counters_mutex_);
  auto it = refused_.find({static_cast<int>(reason), std::string(endpoint)});
  return it == refused_.end() ? 0 : it->second->Value();
}

AllowList& Authenticator::ListOf(Audience audience) {
  switch (audience) {
    case Audience::kClients:
      return allowed_.clients;
    case Audience::kStages:
      return allowed_.stages;
    case Audience::kAdmins:
      return allowed_.admins;
  }
  std::abort();
}

void Authenticator::ReloadChangedFiles(bool force) {
  for (Audience audience : kAudiences) {
    WatchedFile& file = files_[static_cast<int>(audience)];
    if (file.path.empty()) continue;
    const std::string stamp = FileStamp(file.path);
    if (!force && stamp == file.stamp) continue;
    file.stamp = stamp;
    absl::StatusOr<AllowList> loaded = ReadAllowList(file.path);
    if (!loaded.ok()) {
      reload_errors_->Increment();
      spdlog::error("keeping the {} allow-list in force ({} keys): {}",
                    std::string(AudienceName(audience)), ListOf(audience).size(),
                    loaded.status().ToString());
      continue;
    }
    reloads_ok_->Increment();
    spdlog::info("reloaded the {} allow-list {}: {} keys (was {})",
                 std::string(AudienceName(audience)), file.path, loaded->size(),
                 ListOf(audience).size());
    ListOf(audience) = *std::move(loaded);
  }
}

void Authenticator::Refuse(Refusal reason, absl::string_view endpoint, absl::string_view detail) {
  const int index = static_cast<int>(reason);
  RefusedCounter(reason, endpoint).Increment();
  // A refused client reconnects every 100 ms or so (libzmq's default): log once a second.
  const absl::Time now = MonotonicNow();
  if (now - last_logged_[index] < absl::Seconds(1)) {
    ++unlogged_[index];
    return;
  }
  last_logged_[index] = now;
  if (unlogged_[index] > 0) {
    spdlog::warn("refused a connection to {} ({}): {} (and {} more since the last report)",
                 std::string(endpoint), std::string(RefusalLabel(reason)), std::string(detail),
                 unlogged_[index]);
  } else {
    spdlog::warn("refused a connection to {} ({}): {}", std::string(endpoint),
                 std::string(RefusalLabel(reason)), std::string(detail));
  }
  unlogged_[index] = 0;
}

void Authenticator::Run() {
  std::vector<WatchedSocket> monitors;
  const bool watch_files =
      check_interval_ > absl::ZeroDuration() &&
      (!files_[0].path.empty() || !files_[1].path.empty() || !files_[2].path.empty());
  absl::Time next_check = MonotonicNow() + check_interval_;
  while (true) {
    std::vector<zmq::pollitem_t> items = {
        {zap_.handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, wake_fd_, ZMQ_POLLIN, 0},
        {nullptr, reload_fd_, static_cast<short>(reload_fd_ >= 0 ? ZMQ_POLLIN : 0), 0}};
    for (WatchedSocket& socket : monitors) {
      items.push_back({socket.monitor.handle(), 0, ZMQ_POLLIN, 0});
    }
    const absl::Duration timeout = watch_files
                                       ? std::max(next_check - MonotonicNow(), absl::ZeroDuration())
                                       : absl::InfiniteDuration();
    absl::StatusOr<int> ready = Poll(items, timeout);
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
      for (WatchedSocket& socket : new_monitors_) monitors.push_back(std::move(socket));
      new_monitors_.clear();
    }
    if (items[2].revents & ZMQ_POLLIN) {
      // Large enough for a signalfd_siginfo and an eventfd counter alike.
      char discarded[sizeof(signalfd_siginfo)];
      while (read(reload_fd_, discarded, sizeof(discarded)) > 0) {
      }
      spdlog::info("reloading the allow-lists (SIGHUP)");
      ReloadChangedFiles(/*force=*/true);
    }
    if (watch_files && MonotonicNow() >= next_check) {
      ReloadChangedFiles(/*force=*/false);
      next_check = MonotonicNow() + check_interval_;
    }
    if (items[0].revents & ZMQ_POLLIN) AnswerZap();
    for (size_t i = 3; i < items.size(); ++i) {
      if (items[i].revents & ZMQ_POLLIN) DrainMonitor(monitors[i - 3]);
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
  const auto ours = ParseDomain(domain);
  const std::string endpoint = ours.has_value() ? ours->second : std::string("unknown");
  std::string status = "400";
  std::string status_text = "refused";
  std::string user_id;
  if (version != "1.0" || request.size() < 6) {
    status = "500";
    status_text = "malformed ZAP request";
  } else if (mechanism == "CURVE" && request.size() >= 7 && request[6].size() == 32 &&
             ours.has_value()) {
    char z85[kZ85KeyLength + 1] = {};
    zmq_z85_encode(z85, static_cast<const uint8_t*>(request[6].data()), 32);
    if (ListOf(ours->first).contains(z85)) {
      status = "200";
      status_text = "OK";
      user_id = z85;
    } else {
      Refuse(Refusal::kUnknownKey, endpoint,
             absl::StrCat("key ", z85, " from ", address, " is not in the ",
                          AudienceName(ours->first), " allow-list"));
    }
  } else if (mechanism == "NULL" && !absl::StartsWith(domain, kZapDomain)) {
    // Sockets outside topicwire's domains (none of a stage's own while CURVE is on) stay
    // plaintext, as before.
    status = "200";
    status_text = "OK";
  } else {
    Refuse(Refusal::kBadHandshake, endpoint,
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

void Authenticator::DrainMonitor(WatchedSocket& socket) {
  absl::StatusOr<std::vector<SocketEvent>> events = socket.monitor.Drain();
  if (!events.ok()) return;
  for (const SocketEvent& event : *events) {
    if (event.event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
        event.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
      Refuse(Refusal::kPlaintext, socket.endpoint,
             absl::StrCat("a peer without CURVE keys connected to ", event.endpoint));
    } else {
      Refuse(Refusal::kBadHandshake, socket.endpoint,
             absl::StrCat("failed CURVE handshake on ", event.endpoint, " (protocol error ",
                          event.value, "; a wrong server key?)"));
    }
  }
}

}  // namespace topicwire::curve
