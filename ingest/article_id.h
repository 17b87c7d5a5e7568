// Stable article ids for articles the publisher sent without one, so that resending the same
// article is recognised as a duplicate on any machine and across restarts.
#ifndef TOPICWIRE_INGEST_ARTICLE_ID_H_
#define TOPICWIRE_INGEST_ARTICLE_ID_H_

#include <string>

#include "absl/strings/string_view.h"
#include "proto/article.pb.h"

namespace topicwire::ingest {

// Canonical form of an http(s) URL for identity: scheme and host lower-cased, default port
// (:80 for http, :443 for https), fragment, utm_* query parameters and a trailing '/' of the
// path dropped. Other query parameters keep their order. REQUIRES: CheckUrl(url) passed.
std::string CanonicalUrl(absl::string_view url);

// "url-<32 hex>" from SHA-256 of CanonicalUrl(article.url()) when the article has a url, else
// "txt-<32 hex>" from SHA-256 of title and body. Does not look at article.id().
std::string DeriveArticleId(const v1::Article& article);

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_ARTICLE_ID_H_
