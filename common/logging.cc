#include "common/logging.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace topicwire {

absl::Status InitLogging(const std::string& service, const std::string& level) {
  const spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown log level '", level, "'; use trace, debug, info, warn, error, critical or off"));
  }
  auto logger = std::make_shared<spdlog::logger>(
      service, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern(absl::StrCat("%Y-%m-%dT%H:%M:%S.%e %L ", service, " %v"));
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

}  // namespace topicwire
