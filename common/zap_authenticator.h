// The server side of CurveZMQ: a ZAP handler (ZeroMQ RFC 27) that admits exactly the
// allow-listed client keys (common/curve_keys.h) and counts every refusal.
#ifndef TOPICWIRE_COMMON_ZAP_AUTHENTICATOR_H_
#define TOPICWIRE_COMMON_ZAP_AUTHENTICATOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/curve_keys.h"
#include "common/socket_monitor.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "zmq.hpp"

namespace topicwire::curve {

// What a stage needs to serve CURVE: both fields set, or both empty for plaintext.
struct ServerOptions {
  // The server's key file from `topicwire keygen` (PREFIX.key); empty: plaintext.
  std::string secret_key_file{};
  // Allow-list file of client public keys; required with secret_key_file.
  std::string allow_list_file{};

  bool enabled() const { return !secret_key_file.empty() || !allow_list_file.empty(); }
};

// Why a connection was refused; the label of the refusal counter.
enum class Refusal { kUnknownKey, kPlaintext, kBadHandshake };
absl::string_view RefusalLabel(Refusal refusal);

// The ZAP domain of topicwire's CURVE server sockets.
inline constexpr absl::string_view kZapDomain = "topicwire";

// Authenticates CURVE clients of one process: a ZAP handler thread on the process' context that
// accepts exactly the allow-listed client keys, plus socket monitors on the secured sockets that
// see the handshakes ZAP never hears of (a plaintext client, a client holding the wrong server
// key). Every refusal is counted in `<metric_name>{reason="unknown_key|plaintext|bad_handshake"}`
// and logged. NULL-mechanism (plaintext) connections to the process' other, unsecured sockets
// are let through unchanged. At most one per context (ZAP's endpoint is a fixed inproc name).
class Authenticator {
 public:
  // Loads the key file and the allow-list and starts the handler. kInvalidArgument when only one
  // of the two files is given or either is unusable; kUnimplemented without CURVE support.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Start(zmq::context_t& context,
                                                              const ServerOptions& options,
                                                              prometheus::Registry& registry,
                                                              const std::string& metric_name);
  // Same, from keys already in memory.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Start(zmq::context_t& context,
                                                              const KeyPair& server_keys,
                                                              AllowList allowed,
                                                              prometheus::Registry& registry,
                                                              const std::string& metric_name);
  // Stops the handler thread.
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // Makes `socket` a CURVE server with this process' key, checked by this handler, and watches
  // its failed handshakes. REQUIRES: called before bind, on the thread that owns `socket`.
  absl::Status SecureServer(zmq::socket_t& socket);

  // Refusals so far for `reason` (what the metric shows).
  double refused(Refusal reason) const;
  const std::string& public_key() const { return server_keys_.public_key; }

 private:
  Authenticator(zmq::context_t& context, KeyPair server_keys, AllowList allowed,
                prometheus::Registry& registry, const std::string& metric_name);
  absl::Status Bind();
  void Run();
  void AnswerZap();
  void DrainMonitor(SocketMonitor& monitor);
  void Refuse(Refusal reason, absl::string_view detail);

  zmq::context_t& context_;
  const KeyPair server_keys_;
  const AllowList allowed_;
  prometheus::Counter* refused_[3];
  // Log rate limiting, used by the handler thread only.
  absl::Time last_logged_[3] = {absl::InfinitePast(), absl::InfinitePast(), absl::InfinitePast()};
  int64_t unlogged_[3] = {};
  zmq::socket_t zap_;
  int wake_fd_ = -1;  // eventfd: a new monitor to watch, or stop
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<SocketMonitor> new_monitors_;  // guarded by mutex_; handed to the thread
  std::thread thread_;
};

}  // namespace topicwire::curve

#endif  // TOPICWIRE_COMMON_ZAP_AUTHENTICATOR_H_
