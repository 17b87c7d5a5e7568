#include "tests/testing/articles.h"

namespace topicwire::testing {

v1::Article MakeArticle(const std::string& id, const std::string& title, const std::string& body) {
  v1::Article article;
  article.set_id(id);
  article.set_title(title);
  article.set_body(body);
  return article;
}

v1::Article MakeArticle(const std::string& id, const std::string& title) {
  return MakeArticle(id, title, "Body of " + title);
}

v1::Article MakeArticle(const std::string& id) {
  v1::Article article = MakeArticle(id, "Quantum computing report " + id,
                                    "Researchers describe progress with superconducting qubits.");
  article.set_source("e2e-test");
  return article;
}

v1::TaggedArticle MakeTaggedArticle(const std::string& id, const std::vector<std::string>& topics) {
  v1::TaggedArticle tagged;
  tagged.mutable_article()->set_id(id);
  tagged.mutable_article()->set_title("title of " + id);
  for (const std::string& topic : topics) tagged.add_tags()->set_topic(topic);
  return tagged;
}

}  // namespace topicwire::testing
