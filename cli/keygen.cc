#include "cli/keygen.h"

#include "common/curve_keys.h"
#include "common/status_macros.h"

namespace topicwire::cli {

absl::Status Keygen(const std::string& prefix, std::ostream& out, std::ostream& err) {
  if (prefix.empty()) return absl::InvalidArgumentError("--out must name a file prefix");
  ASSIGN_OR_RETURN(const curve::KeyPair keys, curve::GenerateKeyPair());
  RETURN_IF_ERROR(curve::WriteKeyFiles(prefix, keys));
  out << keys.public_key << "\n";
  err << "wrote " << prefix << ".key (secret: keep it, mode 0600) and " << prefix
      << ".pub (public: add it to the servers' --curve_allow, or give it to clients as "
         "--curve-server-key)\n";
  return absl::OkStatus();
}

}  // namespace topicwire::cli
