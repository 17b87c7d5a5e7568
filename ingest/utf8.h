// UTF-8 checks that say where the text goes wrong, so a rejection can point at the byte.
#ifndef TOPICWIRE_INGEST_UTF8_H_
#define TOPICWIRE_INGEST_UTF8_H_

#include <cstddef>
#include <optional>

#include "absl/strings/string_view.h"

namespace topicwire::ingest {

// Returns the offset of the first byte that does not begin or continue a well-formed UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or nullopt when
// `text` is valid UTF-8.
std::optional<size_t> FirstInvalidUtf8Byte(absl::string_view text);

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_UTF8_H_
