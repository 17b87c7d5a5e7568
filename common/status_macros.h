// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's Abseil (20220623) predates absl's own versions.
// Same names as newer Abseil's ABSL_* macros, so migrating is a rename.
#ifndef TOPICWIRE_COMMON_STATUS_MACROS_H_
#define TOPICWIRE_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TOPICWIRE_CONCAT_INNER_(a, b) a##b
#define TOPICWIRE_CONCAT_(a, b) TOPICWIRE_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                             \
  do {                                                    \
    if (absl::Status _st = (expr); !_st.ok()) return _st; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL_(TOPICWIRE_CONCAT_(statusor_, __LINE__), lhs, rexpr)

#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                           \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = *std::move(tmp)

#endif  // TOPICWIRE_COMMON_STATUS_MACROS_H_
