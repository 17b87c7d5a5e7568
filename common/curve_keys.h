// CurveZMQ keys for topicwire's public endpoints: key files (`topicwire keygen`), the allow-list
// of client public keys, and a client's CURVE settings. The server side, which enforces the
// allow-list, is common/zap_authenticator.h. Without keys everything stays plaintext.
//
// Key files are text, one `name = "value"` per line, '#' starts a comment:
//   PREFIX.pub   public-key = "<40 Z85 characters>"                 (share it)
//   PREFIX.key   public-key = "<Z85>" and secret-key = "<Z85>"       (mode 0600, keep it)
// An allow-list file holds client public keys, one per line: either the bare Z85 key or the
// `public-key = "..."` line of a .pub file (so `cat alice.pub bob.pub > allowed` works).
#ifndef TOPICWIRE_COMMON_CURVE_KEYS_H_
#define TOPICWIRE_COMMON_CURVE_KEYS_H_

#include <cstddef>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "zmq.hpp"

namespace topicwire::curve {

// Length of a CURVE key in Z85 text.
inline constexpr size_t kZ85KeyLength = 40;

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

// A stage's CURVE settings as a client of another stage: `key_file` is the stage's own key file
// (its --curve_secret_key_file), `server_key` the other stage's public key (Z85 or a .pub file)
// given by the flag `server_key_flag`. Both empty: plaintext. One without the other is
// kInvalidArgument naming the missing flag: with keys, every hop is secured.
absl::StatusOr<ClientOptions> LoadStageClientOptions(const std::string& key_file,
                                                     const std::string& server_key,
                                                     absl::string_view server_key_flag);

// Applies `options` to a client socket when enabled; a no-op for plaintext.
absl::Status ApplyClientOptions(zmq::socket_t& socket, const ClientOptions& options);

}  // namespace topicwire::curve

#endif  // TOPICWIRE_COMMON_CURVE_KEYS_H_
