// Fuzzes what ingest does with one publish frame from the network, minus the sockets and the
// journal: ParsePublishFrame, then ValidateArticle on each article, then DeriveArticleId for the
// accepted ones without an id (ingest_stage.cc, ProcessRequest).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_init.h"
#include "ingest/article_id.h"
#include "ingest/request_parser.h"
#include "ingest/utf8.h"
#include "ingest/validator.h"

namespace topicwire::ingest {
namespace {

void CheckAcceptedArticle(const v1::Article& article) {
  // What ingest accepts is journaled and later re-parsed by the strict parser, so it must be
  // valid UTF-8 everywhere the validator promises to look.
  FUZZ_CHECK(!FirstInvalidUtf8Byte(article.title()).has_value());
  FUZZ_CHECK(!FirstInvalidUtf8Byte(article.body()).has_value());
  FUZZ_CHECK(!FirstInvalidUtf8Byte(article.id()).has_value());
  FUZZ_CHECK(!article.title().empty() || !article.body().empty());
  FUZZ_CHECK(article.id().size() <= kMaxIdBytes);
  if (!article.url().empty()) {
    FUZZ_CHECK(!CheckUrl(article.url()).has_value());
    // CanonicalUrl REQUIRES a URL that CheckUrl passed; it is called on exactly those.
    const std::string canonical = CanonicalUrl(article.url());
    FUZZ_CHECK(!canonical.empty());
  }
  const std::string id = DeriveArticleId(article);
  FUZZ_CHECK(absl::StartsWith(id, "url-") || absl::StartsWith(id, "txt-"));
  FUZZ_CHECK(id.size() <= kMaxIdBytes);
  // An id is a pure function of the article.
  FUZZ_CHECK(id == DeriveArticleId(article));
  // The accepted article is serialized into the journal and read back by the dispatcher.
  v1::Article reread;
  FUZZ_CHECK(reread.ParseFromString(article.SerializeAsString()));
}

void TestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view frame(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<IncomingArticle>> incoming = ParsePublishFrame(frame);
  if (!incoming.ok()) {
    FUZZ_CHECK(incoming.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!incoming.status().message().empty());
    return;
  }
  FUZZ_CHECK(!incoming->empty());
  // A small limit as well as the default, so that the size check is reached by small inputs.
  for (const int64_t limit : {int64_t{1} << 20, int64_t{64}}) {
    const ValidatorOptions options{.max_article_bytes = limit};
    for (const IncomingArticle& article : *incoming) {
      if (article.rejection.has_value()) {
        FUZZ_CHECK(!article.rejection->reason.empty());
        FUZZ_CHECK(!RejectKindLabel(article.rejection->kind).empty());
        continue;
      }
      std::optional<Rejection> rejection =
          ValidateArticle(article.article, article.serialized_bytes, options);
      if (rejection.has_value()) {
        FUZZ_CHECK(!rejection->reason.empty());
        continue;
      }
      FUZZ_CHECK(static_cast<int64_t>(article.serialized_bytes) <= limit);
      CheckAcceptedArticle(article.article);
    }
  }
}

}  // namespace
}  // namespace topicwire::ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicwire::ingest::TestOneInput(data, size);
  return 0;
}
