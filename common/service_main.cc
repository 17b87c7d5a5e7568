#include "common/service_main.h"

#include <cstdio>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/env_flags.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error, critical or off");

namespace topicwire {

absl::StatusOr<Shutdown> StartService(int argc, char** argv, const std::string& service,
                                      const std::string& usage) {
  absl::SetProgramUsageMessage(usage);
  // --help lists the flags of the stage's own folder and the shared ones defined here (Abseil's
  // default matches the program name alone).
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [folder =
                                          absl::StrCat("/", service, "/")](absl::string_view file) {
    return absl::StrContains(file, folder) || absl::EndsWith(file, "common/service_main.cc");
  };
  absl::SetFlagsUsageConfig(usage_config);
  absl::Status environment = ApplyFlagsFromEnvironment();
  // Parsed even when the environment is bad, so that --help still answers.
  absl::ParseCommandLine(argc, argv);
  absl::Status logging =
      environment.ok() ? InitLogging(service, absl::GetFlag(FLAGS_log_level)) : environment;
  if (!logging.ok()) {
    (void)InitLogging(service);  // the default level always works
    spdlog::critical("{}", logging.ToString());
    return logging;
  }
  absl::StatusOr<Shutdown> shutdown = Shutdown::FromSignals();
  if (!shutdown.ok()) spdlog::critical("{}", shutdown.status().ToString());
  return shutdown;
}

absl::StatusOr<std::unique_ptr<HttpEndpoint>> ServeProbes(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
    std::shared_ptr<const Readiness> readiness) {
  if (listen.empty()) return std::unique_ptr<HttpEndpoint>();
  absl::StatusOr<std::unique_ptr<HttpEndpoint>> started =
      HttpEndpoint::Start(listen, std::move(registry), std::move(readiness));
  if (!started.ok()) {
    spdlog::critical("{}", started.status().ToString());
    return started.status();
  }
  spdlog::info("serving /healthz /readyz /metrics on port {}", (*started)->port());
  return started;
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return 0;
  spdlog::error("exiting: {}", status.ToString());
  return 1;
}

}  // namespace topicwire
