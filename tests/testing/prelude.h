// What nearly every test uses, in one include: GoogleTest and gMock, the status matchers, the
// test helpers, and the names tests use unqualified. A test file says
//   using namespace ::topicwire::testing::prelude;
// once, instead of a list of using-declarations that every file would repeat.
#ifndef TOPICWIRE_TESTS_TESTING_PRELUDE_H_
#define TOPICWIRE_TESTS_TESTING_PRELUDE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"
#include "tests/testing/test_util.h"

namespace topicwire::testing::prelude {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::Optional;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;
using ::topicwire::testing::BinDir;
using ::topicwire::testing::FreeLoopbackPortRange;
using ::topicwire::testing::IsOk;
using ::topicwire::testing::MakeTempDir;
using ::topicwire::testing::ReadFile;
using ::topicwire::testing::StatusIs;
using ::topicwire::testing::WaitFor;

}  // namespace topicwire::testing::prelude

#endif  // TOPICWIRE_TESTS_TESTING_PRELUDE_H_
