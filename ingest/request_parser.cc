#include "ingest/request_parser.h"

#include "absl/strings/str_cat.h"
#include "ingest/lenient_publish.pb.h"
#include "ingest/utf8.h"

namespace topicwire::ingest {
namespace {

absl::Status NotAPublishRequest(size_t frame_bytes, absl::string_view detail) {
  return absl::InvalidArgumentError(
      absl::StrCat("frame of ", frame_bytes, " bytes is not a valid topicwire.v1.PublishRequest (",
                   detail, "); send one serialized PublishRequest per frame"));
}

absl::Status NoArticles() {
  return absl::InvalidArgumentError(
      "request has no articles; put at least one Article in PublishRequest.articles");
}

}  // namespace

absl::StatusOr<std::vector<IncomingArticle>> ParsePublishFrame(absl::string_view frame) {
  std::vector<IncomingArticle> incoming;
  v1::PublishRequest request;
  if (request.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    if (request.articles_size() == 0) return NoArticles();
    incoming.resize(request.articles_size());
    for (int i = 0; i < request.articles_size(); ++i) {
      incoming[i].serialized_bytes = request.articles(i).ByteSizeLong();
      incoming[i].publisher_id = request.articles(i).id();
      incoming[i].article.Swap(request.mutable_articles(i));
    }
    return incoming;
  }

  // The strict parse fails on the first string field with invalid UTF-8; read the articles as
  // raw bytes to tell that apart from a frame that is not a PublishRequest at all.
  lenient::LenientPublishRequest lenient_request;
  if (!lenient_request.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return NotAPublishRequest(frame.size(), "it does not parse");
  }
  if (lenient_request.articles_size() == 0) return NoArticles();
  incoming.resize(lenient_request.articles_size());
  for (int i = 0; i < lenient_request.articles_size(); ++i) {
    const std::string& bytes = lenient_request.articles(i);
    IncomingArticle& article = incoming[i];
    article.serialized_bytes = bytes.size();
    if (article.article.ParseFromString(bytes)) {
      article.publisher_id = article.article.id();
      continue;
    }
    lenient::LenientArticle lenient_article;
    if (!lenient_article.ParseFromString(bytes)) {
      return NotAPublishRequest(frame.size(), absl::StrCat("article ", i, " does not parse"));
    }
    if (!FirstInvalidUtf8Byte(lenient_article.id()).has_value()) {
      article.publisher_id = lenient_article.id();
    }
    article.rejection = FindInvalidUtf8(lenient_article);
    if (!article.rejection.has_value()) {
      // Unreachable with today's schema (only strings are checked by the strict parser), but a
      // future field must not let an unparsed article through.
      article.rejection =
          Rejection{RejectKind::kMalformed,
                    absl::StrCat("article ", i, " is not a valid topicwire.v1.Article")};
    }
  }
  return incoming;
}

}  // namespace topicwire::ingest
