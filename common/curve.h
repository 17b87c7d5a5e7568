// CurveZMQ for topicwire's public endpoints: key files (`topicwire keygen`), the allow-list of
// client public keys, a ZAP handler (ZeroMQ RFC 27) that enforces it and counts refusals, and
// the socket options for CURVE servers and clients. Without keys everything stays plaintext.
//
// Key files are text, one `name = "value"` per line, '#' starts a comment:
//   PREFIX.pub   public-key = "<40 Z85 characters>"                 (share it)
//   PREFIX.key   public-key = "<Z85>" and secret-key = "<Z85>"       (mode 0600, keep it)
// An allow-list file holds client public keys, one per line: either the bare Z85 key or the
// `public-key = "..."` line of a .pub file (so `cat alice.pub bob.pub > allowed` works).
#ifndef TOPICWIRE_COMMON_CURVE_H_
#define TOPICWIRE_COMMON_CURVE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "zmq.hpp"

namespace topicwire::curve {

// A CURVE key pair in Z85 text (40 characters each). `secret_key` is empty for a public key only.
struct KeyPair {
  std::string public_key{};
  std::string secret_key{};
};

// Whether libzmq was built with CURVE support (libsodium).
bool Available();

// A fresh key pair. kUnimplemented when libzmq lacks CURVE.
absl::StatusOr<KeyPair> GenerateKeyPair();

// OK when `key` is 40 Z85 characters that decode to 32 bytes; else kInvalidArgument naming it.
absl::Status ValidateKey(absl::string_view key);

// Writes PREFIX.key (both keys, mode 0600, created without group/other access) and PREFIX.pub
// (the public key). Refuses to overwrite an existing PREFIX.key (kAlreadyExists).
absl::Status WriteKeyFiles(const std::string& prefix, const KeyPair& keys);

// Reads a key file: the secret key file (PREFIX.key, or PREFIX given without ".key") yields both
// keys; a .pub file only the public one. Errors name the file and what is wrong with it.
absl::StatusOr<KeyPair> ReadKeyFile(const std::string& path_or_prefix);

// A server public key given on a command line: the Z85 key itself, or a file holding it
// (PREFIX.pub or PREFIX.key).
absl::StatusOr<std::string> ResolvePublicKey(const std::string& key_or_file);

// The set of client public keys (Z85) allowed to connect.
using AllowList = absl::flat_hash_set<std::string>;

// Parses allow-list text (see the file comment). Blank lines and '#' comments are skipped; a
// line that is not a valid key is kInvalidArgument with its line number. An empty list is valid
// (it refuses everyone).
absl::StatusOr<AllowList> ParseAllowList(absl::string_view text);
// Reads and parses an allow-list file.
absl::StatusOr<AllowList> ReadAllowList(const std::string& path);

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
  void DrainMonitor(zmq::socket_t& monitor);
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
  std::vector<zmq::socket_t> new_monitors_;  // guarded by mutex_; handed to the thread
  std::thread thread_;
};

// Makes `socket` a CURVE client of a server whose public key is `server_public_key`, using
// `client_keys` (both keys required). REQUIRES: called before connect.
absl::Status SecureClient(zmq::socket_t& socket, const KeyPair& client_keys,
                          const std::string& server_public_key);

// A client's CURVE settings as the CLI holds them; empty fields mean plaintext.
struct ClientOptions {
  // The server's public key (Z85).
  std::string server_public_key{};
  // The client's own key pair.
  KeyPair client_keys{};

  bool enabled() const { return !server_public_key.empty(); }
};

// Loads the CLI's client settings: `server_key` is a Z85 key or a key file (PREFIX.pub),
// `client_key_file` the client's PREFIX.key. Both empty: plaintext (an empty ClientOptions).
// Only one of the two given is kInvalidArgument: topicwire's servers admit known keys only.
absl::StatusOr<ClientOptions> LoadClientOptions(const std::string& server_key,
                                                const std::string& client_key_file);

// Applies `options` to a client socket when enabled; a no-op for plaintext.
absl::Status ApplyClientOptions(zmq::socket_t& socket, const ClientOptions& options);

}  // namespace topicwire::curve

#endif  // TOPICWIRE_COMMON_CURVE_H_
