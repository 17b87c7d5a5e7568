// Articles for tests: the few shapes the unit, stage and end-to-end tests publish and store.
#ifndef TOPICWIRE_TESTS_TESTING_ARTICLES_H_
#define TOPICWIRE_TESTS_TESTING_ARTICLES_H_

#include <string>
#include <vector>

#include "proto/article.pb.h"

namespace topicwire::testing {

// An Article with exactly `id`, `title` and `body` set.
v1::Article MakeArticle(const std::string& id, const std::string& title, const std::string& body);
// An Article `id` titled `title`, with the body "Body of <title>".
v1::Article MakeArticle(const std::string& id, const std::string& title);
// An Article `id` from source "e2e-test" that the default taxonomy tags as quantum computing.
v1::Article MakeArticle(const std::string& id);

// A TaggedArticle: article `id` titled "title of <id>", tagged with `topics` in order.
v1::TaggedArticle MakeTaggedArticle(const std::string& id, const std::vector<std::string>& topics);

}  // namespace topicwire::testing

#endif  // TOPICWIRE_TESTS_TESTING_ARTICLES_H_
