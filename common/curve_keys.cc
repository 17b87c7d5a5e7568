#include "common/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "common/zmq_channel.h"
#include "spdlog/spdlog.h"

namespace topicwire::curve {
namespace {

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

// Calls `parse` with each line of `text` that is neither blank nor a '#' comment, stripped. Stops
// at the first error, returned as kInvalidArgument "<where> line <number>: <message>".
absl::Status ForEachLine(absl::string_view text, absl::string_view where,
                         absl::FunctionRef<absl::Status(absl::string_view line)> parse) {
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    if (absl::Status parsed = parse(line); !parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " line ", line_number, ": ", parsed.message()));
    }
  }
  return absl::OkStatus();
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
  RETURN_IF_ERROR(ForEachLine(text, path, [&keys](absl::string_view line) -> absl::Status {
    std::optional<NamedValue> named = ParseNamedValue(line);
    if (!named.has_value()) {
      return absl::InvalidArgumentError(
          "expected public-key = \"...\" or secret-key = \"...\" (see topicwire keygen)");
    }
    RETURN_IF_ERROR(ValidateKey(named->value));
    (named->name == "public-key" ? keys.public_key : keys.secret_key) = named->value;
    return absl::OkStatus();
  }));
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
    if (stat(path.c_str(), &info) == 0) {
      const unsigned mode = info.st_mode & 07777;
      if ((mode & 007) != 0) {
        return absl::PermissionDeniedError(absl::StrFormat(
            "%s holds a secret key that every user of this machine can read or change (mode "
            "%04o); refusing to use it: run chmod 600 %s",
            path, mode, path));
      }
      if ((mode & 070) != 0) {
        spdlog::warn("{} holds a secret key that its group can read (mode {:04o}): chmod 600 {}",
                     path, mode, path);
      }
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
  RETURN_IF_ERROR(
      ForEachLine(text, "allow-list", [&allowed](absl::string_view line) -> absl::Status {
        std::string key(line);
        if (std::optional<NamedValue> named = ParseNamedValue(line); named.has_value()) {
          if (named->name == "secret-key") {
            return absl::InvalidArgumentError(
                "a secret key does not belong in an allow-list; list the client's .pub file");
          }
          key = named->value;
        }
        RETURN_IF_ERROR(ValidateKey(key));
        allowed.insert(std::move(key));
        return absl::OkStatus();
      }));
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

absl::Status SecureClient(zmq::socket_t& socket, const KeyPair& client_keys,
                          const std::string& server_public_key) {
  RETURN_IF_ERROR(ValidateKey(server_public_key));
  RETURN_IF_ERROR(ValidateKey(client_keys.public_key));
  RETURN_IF_ERROR(ValidateKey(client_keys.secret_key));
  return SetCurveClient(socket, server_public_key, client_keys.public_key, client_keys.secret_key);
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

absl::StatusOr<ClientOptions> LoadStageClientOptions(const std::string& key_file,
                                                     const std::string& server_key,
                                                     absl::string_view server_key_flag) {
  if (key_file.empty() && server_key.empty()) return ClientOptions{};
  if (server_key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("with --curve_secret_key_file every hop is secured: give the other stage's "
                     "public key as --",
                     server_key_flag, " (its .pub file or the Z85 key)"));
  }
  if (key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", server_key_flag,
        " needs this stage's own key file as --curve_secret_key_file (topicwire keygen)"));
  }
  ClientOptions options;
  ASSIGN_OR_RETURN(options.server_public_key, ResolvePublicKey(server_key));
  ASSIGN_OR_RETURN(options.client_keys, ReadKeyFile(key_file));
  if (options.client_keys.secret_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        key_file, " holds no secret key: pass the PREFIX.key file of topicwire keygen"));
  }
  return options;
}

absl::Status ApplyClientOptions(zmq::socket_t& socket, const ClientOptions& options) {
  if (!options.enabled()) return absl::OkStatus();
  return SecureClient(socket, options.client_keys, options.server_public_key);
}

}  // namespace topicwire::curve
