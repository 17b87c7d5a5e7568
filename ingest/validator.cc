#include "ingest/validator.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ingest/utf8.h"

namespace topicwire::ingest {
namespace {

std::optional<Rejection> CheckField(absl::string_view field_name, absl::string_view value) {
  const std::optional<size_t> bad = FirstInvalidUtf8Byte(value);
  if (!bad.has_value()) return std::nullopt;
  return Rejection{RejectKind::kUtf8,
                   absl::StrCat("field '", field_name, "' is not valid UTF-8 at byte ", *bad,
                                "; send text encoded as UTF-8")};
}

// The scalar string fields both Article and its lenient mirror have, in field-number order.
template <typename ArticleLike>
std::vector<std::pair<absl::string_view, absl::string_view>> ScalarFields(const ArticleLike& a) {
  return {{"id", a.id()},     {"url", a.url()},           {"title", a.title()},
          {"body", a.body()}, {"language", a.language()}, {"source", a.source()}};
}

template <typename ArticleLike>
std::optional<Rejection> FirstInvalidScalarOrAuthor(const ArticleLike& article) {
  for (const auto& [name, value] : ScalarFields(article)) {
    if (auto rejection = CheckField(name, value)) return rejection;
  }
  for (int i = 0; i < article.authors_size(); ++i) {
    if (auto rejection = CheckField(absl::StrCat("authors[", i, "]"), article.authors(i))) {
      return rejection;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::string_view RejectKindLabel(RejectKind kind) {
  switch (kind) {
    case RejectKind::kEmpty:
      return "empty";
    case RejectKind::kUtf8:
      return "utf8";
    case RejectKind::kTooLarge:
      return "too_large";
    case RejectKind::kBadUrl:
      return "bad_url";
    case RejectKind::kBadId:
      return "bad_id";
    case RejectKind::kTooManyArticles:
      return "too_many_articles";
    case RejectKind::kTooManyFrames:
      return "too_many_frames";
    case RejectKind::kMalformed:
      return "malformed_frame";
  }
  return "malformed_frame";
}

std::optional<std::string> CheckUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return absl::StrCat("url '", url,
                        "' is not absolute; give the full address, e.g. https://example.com/a");
  }
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    return absl::StrCat("url '", url, "' has scheme '", url.substr(0, scheme_end),
                        "'; only http and https URLs are accepted");
  }
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return absl::StrCat("url '", url,
                          "' contains a space or control character; percent-encode it");
    }
  }
  absl::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  absl::string_view host = authority;
  if (absl::StartsWith(host, "[")) {  // IPv6 literal
    const size_t close = host.find(']');
    host = close == absl::string_view::npos ? absl::string_view() : host.substr(1, close - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host.empty()) {
    return absl::StrCat("url '", url, "' has no host; give the full address, e.g. ", scheme,
                        "://example.com/a");
  }
  return std::nullopt;
}

std::optional<Rejection> ValidateArticle(const v1::Article& article, size_t serialized_bytes,
                                         const ValidatorOptions& options) {
  if (static_cast<int64_t>(serialized_bytes) > options.max_article_bytes) {
    return Rejection{RejectKind::kTooLarge,
                     absl::StrCat("article is ", serialized_bytes, " bytes, over the ",
                                  options.max_article_bytes,
                                  "-byte limit (--max_article_bytes); shorten the body")};
  }
  if (article.title().empty() && article.body().empty()) {
    return Rejection{RejectKind::kEmpty,
                     "article has neither a title nor a body; set at least one of them"};
  }
  if (auto rejection = FirstInvalidScalarOrAuthor(article)) return rejection;
  for (const auto& [key, value] : article.attributes()) {
    if (auto rejection = CheckField("attributes (key)", key)) return rejection;
    if (auto rejection = CheckField(absl::StrCat("attributes['", key, "']"), value)) {
      return rejection;
    }
  }
  if (!article.url().empty()) {
    if (std::optional<std::string> problem = CheckUrl(article.url())) {
      return Rejection{RejectKind::kBadUrl, *std::move(problem)};
    }
  }
  if (article.id().size() > kMaxIdBytes) {
    return Rejection{RejectKind::kBadId,
                     absl::StrCat("id is ", article.id().size(), " bytes, over the ", kMaxIdBytes,
                                  "-byte limit; use a shorter id or leave it empty to let "
                                  "ingest derive one")};
  }
  for (size_t i = 0; i < article.id().size(); ++i) {
    const auto c = static_cast<unsigned char>(article.id()[i]);
    if (c < 0x20 || c == 0x7f) {
      return Rejection{RejectKind::kBadId, absl::StrCat("id has a control character at byte ", i,
                                                        "; ids must be printable text")};
    }
  }
  return std::nullopt;
}

std::optional<Rejection> FindInvalidUtf8(const lenient::LenientArticle& article) {
  if (auto rejection = FirstInvalidScalarOrAuthor(article)) return rejection;
  for (int i = 0; i < article.attributes_size(); ++i) {
    const lenient::LenientArticle::AttributeEntry& entry = article.attributes(i);
    if (auto rejection = CheckField("attributes (key)", entry.key())) return rejection;
    // The key may itself be broken, so name the entry by position rather than by key.
    if (auto rejection =
            CheckField(absl::StrCat("attributes (value of entry ", i, ")"), entry.value())) {
      return rejection;
    }
  }
  return std::nullopt;
}

}  // namespace topicwire::ingest
