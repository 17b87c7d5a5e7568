#include "classify/taxonomy.h"
#include "gtest/gtest.h"
TEST(X, Y) {}
