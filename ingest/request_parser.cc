#include "ingest/request_parser.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "ingest/lenient_publish.pb.h"
#include "ingest/utf8.h"

namespace topicwire::ingest {
namespace {

absl::Status NotAPublishRequest(size_t frame_bytes, absl::string_view detail) {
  return absl::InvalidArgumentError(
      absl::StrCat("frame of ", frame_bytes, " bytes is not a valid topicwire.v1.PublishRequest (",
                   detail, "); send one serialized PublishRequest per frame"));
}

// How many articles (field 1) a serialized PublishRequest holds, read from the wire format
// without parsing them; a frame that is not valid wire format counts what came before the fault
// (the parser then says what is wrong).
int64_t CountArticles(absl::string_view frame) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(frame.data()),
                                               static_cast<int>(frame.size()));
  int64_t articles = 0;
  while (const uint32_t tag = input.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == v1::PublishRequest::kArticlesFieldNumber &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      ++articles;
    }
    if (!WireFormatLite::SkipField(&input, tag)) break;
  }
  return articles;
}

absl::Status NoArticles() {
  return absl::InvalidArgumentError(
      "request has no articles; put at least one Article in PublishRequest.articles");
}

}  // namespace

absl::StatusOr<std::vector<IncomingArticle>> ParsePublishFrame(absl::string_view frame,
                                                               int64_t max_articles) {
  if (const int64_t articles = CountArticles(frame); articles > max_articles) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "request holds ", articles, " articles, more than the ", max_articles,
        " one request may hold (--max_articles_per_request); send them in requests of at most ",
        max_articles));
  }
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
