#include "chaos/store_reader.h"

#include <algorithm>

#include "common/status_macros.h"

namespace topicwire::chaos {

absl::StatusOr<std::unique_ptr<StoreReader>> StoreReader::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<sink::StoreReader> store, sink::StoreReader::Open(path));
  return std::unique_ptr<StoreReader>(new StoreReader(std::move(store)));
}

absl::Status StoreReader::ReadNewArticles(std::vector<std::pair<std::string, uint64_t>>& out) {
  ASSIGN_OR_RETURN(std::vector<sink::StoredArticle> articles, store_->ReadArticles(last_sequence_));
  for (sink::StoredArticle& article : articles) {
    last_sequence_ = std::max(last_sequence_, article.sequence);
    out.emplace_back(std::move(article.article_id), article.sequence);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> StoreReader::ReadAllArticles() {
  std::vector<std::pair<std::string, uint64_t>> all;
  ASSIGN_OR_RETURN(std::vector<sink::StoredArticle> articles, store_->ReadArticles(0));
  for (sink::StoredArticle& article : articles) {
    all.emplace_back(std::move(article.article_id), article.sequence);
  }
  return all;
}

absl::StatusOr<std::vector<StreamCopy>> StoreReader::ReadAllCopies() {
  std::vector<StreamCopy> copies;
  ASSIGN_OR_RETURN(std::vector<sink::StoredCopy> stored, store_->ReadCopies());
  for (sink::StoredCopy& copy : stored) {
    copies.push_back({.article_id = std::move(copy.article_id),
                      .sequence = copy.sequence,
                      .stream = std::move(copy.position.stream),
                      .stream_sequence = copy.position.stream_sequence});
  }
  return copies;
}

}  // namespace topicwire::chaos
