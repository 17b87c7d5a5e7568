// The server side of CurveZMQ: a ZAP handler (ZeroMQ RFC 27) that admits, on each secured
// socket, exactly the keys of that socket's allow-list (common/curve_keys.h: clients on the public
// endpoints, stages on the internal ones, admins on the admin endpoint), reloads the allow-list
// files when they change, and counts every refusal.
#ifndef TOPICWIRE_COMMON_ZAP_AUTHENTICATOR_H_
#define TOPICWIRE_COMMON_ZAP_AUTHENTICATOR_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/curve_keys.h"
#include "common/socket_monitor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "zmq.hpp"

namespace topicwire::curve {

// Who may connect to a secured socket: each audience has its own allow-list and its own ZAP
// domain, so one handler checks every socket of a process against the right list.
enum class Audience {
  kClients,  // the public endpoints (publish, stream, history): publishers' and subscribers' keys
  kStages,   // the internal hops (work, sink input, commit): the other stages' keys
  kAdmins,   // the admin endpoint (dead letters): operators' keys
};
// "public", "internal", "admin".
absl::string_view AudienceName(Audience audience);

// What a stage needs to serve CURVE. Without a secret key file everything stays plaintext; with
// one, every endpoint the stage binds is secured, so both client and stage allow-lists are
// required.
struct ServerOptions {
  // The stage's key file from `topicwire keygen` (PREFIX.key); empty: plaintext.
  std::string secret_key_file{};
  // Allow-list file of client public keys, admitted on the public endpoints.
  std::string allow_list_file{};
  // Allow-list file of stage public keys, admitted on the internal endpoints.
  std::string stage_allow_list_file{};
  // Allow-list file of admin public keys (ingest's admin endpoint); empty: the admin endpoint
  // admits no one while CURVE is on.
  std::string admin_allow_list_file{};
  // Readable means "reload the allow-lists now" (a SIGHUP signalfd from BlockSighupIntoFd(), or
  // an eventfd in tests); what is readable is read and discarded. -1: none.
  int reload_fd = -1;
  // How often the allow-list files are checked for a change (inode, size, modification time);
  // a changed file is reloaded. Zero: only on reload_fd.
  absl::Duration allow_list_check_interval = absl::Seconds(1);

  bool enabled() const {
    return !secret_key_file.empty() || !allow_list_file.empty() || !stage_allow_list_file.empty();
  }
};

// The allow-lists of one process, by audience.
struct AllowLists {
  AllowList clients{};
  AllowList stages{};
  AllowList admins{};
};

// Why a connection was refused; the label of the refusal counter.
enum class Refusal { kUnknownKey, kPlaintext, kBadHandshake };
absl::string_view RefusalLabel(Refusal refusal);

// The prefix of topicwire's ZAP domains: "topicwire.<audience>.<endpoint role>".
inline constexpr absl::string_view kZapDomain = "topicwire";
// The ZAP domain of a socket serving `audience` on the endpoint called `endpoint` ("work").
std::string ZapDomain(Audience audience, absl::string_view endpoint);

// Blocks SIGHUP in the calling thread (call it before any thread starts, so that every thread
// inherits the mask) and returns a non-blocking signalfd that becomes readable on SIGHUP.
absl::StatusOr<int> BlockSighupIntoFd();

// Authenticates CURVE clients of one process: a ZAP handler thread on the process' context that
// accepts, on each secured socket, exactly the keys of that socket's audience, plus socket
// monitors on the secured sockets that see the handshakes ZAP never hears of (a plaintext
// client, a client holding the wrong server key). Every refusal is counted in
// `<metric_name>{endpoint="<role>",reason="unknown_key|plaintext|bad_handshake"}` and logged.
// The allow-list files are reloaded when they change or reload_fd fires: new connections are
// checked against the new list, established ones stay. A file that does not parse keeps the old
// list, is logged and counted in `<prefix>_allow_list_reloads_total{result="error"}` (prefix:
// metric_name without "_refused_total"). NULL-mechanism (plaintext) connections to sockets
// outside topicwire's domains are let through unchanged. At most one per context (ZAP's endpoint
// is a fixed inproc name).
class Authenticator {
 public:
  // Loads the key file and the allow-lists and starts the handler. kInvalidArgument when the key
  // file, the client or the stage allow-list is missing or unusable; kUnimplemented without
  // CURVE support.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Start(zmq::context_t& context,
                                                              const ServerOptions& options,
                                                              prometheus::Registry& registry,
                                                              const std::string& metric_name);
  // Same, from keys already in memory (nothing is reloaded).
  static absl::StatusOr<std::unique_ptr<Authenticator>> Start(zmq::context_t& context,
                                                              const KeyPair& server_keys,
                                                              AllowLists allowed,
                                                              prometheus::Registry& registry,
                                                              const std::string& metric_name);
  // Same with `allowed` as the clients' list and no stage or admin keys.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Start(zmq::context_t& context,
                                                              const KeyPair& server_keys,
                                                              AllowList allowed,
                                                              prometheus::Registry& registry,
                                                              const std::string& metric_name);
  // Stops the handler thread.
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // Makes `socket` a CURVE server with this process' key that admits the keys of `audience`,
  // and watches its failed handshakes; refusals are labelled with `endpoint` (the role, e.g.
  // "work"). REQUIRES: called before bind, on the thread that owns `socket`.
  absl::Status SecureServer(zmq::socket_t& socket, Audience audience = Audience::kClients,
                            absl::string_view endpoint = "public");

  // Refusals so far for `reason`, on every endpoint or on `endpoint` only.
  double refused(Refusal reason) const;
  double refused(Refusal reason, absl::string_view endpoint) const;
  // Allow-list files that failed to reload so far.
  double reload_errors() const { return reload_errors_->Value(); }
  const std::string& public_key() const { return server_keys_.public_key; }

 private:
  // An allow-list file as last read: its identity, to notice a change.
  struct WatchedFile {
    std::string path{};
    std::string stamp{};
  };
  // A secured socket's monitor and the endpoint its refusals are counted under.
  struct WatchedSocket {
    SocketMonitor monitor;
    std::string endpoint;
  };

  Authenticator(zmq::context_t& context, KeyPair server_keys, AllowLists allowed,
                prometheus::Registry& registry, const std::string& metric_name);
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(zmq::context_t& context,
                                                               const KeyPair& server_keys,
                                                               AllowLists allowed,
                                                               prometheus::Registry& registry,
                                                               const std::string& metric_name);
  // Binds the ZAP endpoint and starts the handler thread.
  absl::Status Launch();
  absl::Status Bind();
  void Run();
  void AnswerZap();
  void DrainMonitor(WatchedSocket& socket);
  void Refuse(Refusal reason, absl::string_view endpoint, absl::string_view detail);
  prometheus::Counter& RefusedCounter(Refusal reason, absl::string_view endpoint);
  AllowList& ListOf(Audience audience);
  // Reloads the watched files that changed (all of them when `force`).
  void ReloadChangedFiles(bool force);

  zmq::context_t& context_;
  const KeyPair server_keys_;
  // Used by the handler thread only, once it runs.
  AllowLists allowed_;
  WatchedFile files_[3];  // by Audience; an empty path is not watched
  int reload_fd_ = -1;
  absl::Duration check_interval_ = absl::ZeroDuration();
  prometheus::Family<prometheus::Counter>& refused_family_;
  prometheus::Counter* reloads_ok_;
  prometheus::Counter* reload_errors_;
  mutable std::mutex counters_mutex_;
  // (reason, endpoint) -> counter; guarded by counters_mutex_.
  std::map<std::pair<int, std::string>, prometheus::Counter*> refused_;
  // Log rate limiting, used by the handler thread only.
  absl::Time last_logged_[3] = {absl::InfinitePast(), absl::InfinitePast(), absl::InfinitePast()};
  int64_t unlogged_[3] = {};
  zmq::socket_t zap_;
  int wake_fd_ = -1;  // eventfd: a new monitor to watch, or stop
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<WatchedSocket> new_monitors_;  // guarded by mutex_; handed to the thread
  std::thread thread_;
};

}  // namespace topicwire::curve

#endif  // TOPICWIRE_COMMON_ZAP_AUTHENTICATOR_H_
