#include "ingest/article_id.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace topicwire::ingest {
namespace {

// First 128 bits of SHA-256, in hex: collisions are out of reach for any realistic volume.
std::string HashHex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &digest_length, EVP_sha256(), nullptr) != 1 ||
      digest_length < 16) {
    std::abort();  // libcrypto's SHA-256 cannot fail on in-memory data
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

}  // namespace

std::string CanonicalUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return std::string(url);
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  absl::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));

  const size_t authority_end = rest.find_first_of("/?");
  std::string authority = absl::AsciiStrToLower(rest.substr(0, authority_end));
  rest =
      authority_end == absl::string_view::npos ? absl::string_view() : rest.substr(authority_end);
  const absl::string_view default_port = scheme == "https" ? ":443" : ":80";
  if (absl::EndsWith(authority, default_port)) {
    authority.resize(authority.size() - default_port.size());
  }

  const size_t query_start = rest.find('?');
  absl::string_view path = rest.substr(0, query_start);
  while (absl::EndsWith(path, "/")) path.remove_suffix(1);
  std::vector<absl::string_view> kept;
  if (query_start != absl::string_view::npos) {
    for (absl::string_view param : absl::StrSplit(rest.substr(query_start + 1), '&')) {
      if (param.empty() || absl::StartsWithIgnoreCase(param, "utm_")) continue;
      kept.push_back(param);
    }
  }
  std::string canonical = absl::StrCat(scheme, "://", authority, path);
  if (!kept.empty()) absl::StrAppend(&canonical, "?", absl::StrJoin(kept, "&"));
  return canonical;
}

std::string DeriveArticleId(const v1::Article& article) {
  if (!article.url().empty()) return absl::StrCat("url-", HashHex(CanonicalUrl(article.url())));
  // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
  return absl::StrCat(
      "txt-", HashHex(absl::StrCat(article.title().size(), ":", article.title(), article.body())));
}

}  // namespace topicwire::ingest
