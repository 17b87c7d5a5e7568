#include "cli/bench.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_spec.h"
#include "common/subprocess.h"
#include "common/supervisor.h"

namespace topicwire::cli {
namespace {

int RunBenchBinary(const ParsedArgs& args, CommandIo& io) {
  absl::StatusOr<std::string> dir = ExecutableDir();
  if (!dir.ok()) return Fail(io, "bench", dir.status(), kExitFailed);
  const std::string binary = (std::filesystem::path(*dir) / "topicwire-bench").string();
  if (access(binary.c_str(), X_OK) != 0) {
    return Fail(io, "bench",
                absl::NotFoundError(absl::StrCat("cannot find ", binary,
                                                 " (build the topicwire-bench target: it is what "
                                                 "`topicwire bench` runs)")),
                kExitFailed);
  }
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.words().begin(), args.words().end());
  if (io.use_signals) {
    // The real CLI becomes topicwire-bench: Ctrl-C, standard streams and the exit code are its.
    std::vector<char*> exec_argv;
    for (std::string& arg : argv) exec_argv.push_back(arg.data());
    exec_argv.push_back(nullptr);
    execv(binary.c_str(), exec_argv.data());
    return Fail(
        io, "bench",
        absl::UnavailableError(absl::StrCat("cannot run ", binary, ": ", std::strerror(errno))),
        kExitFailed);
  }
  // In-process callers (tests) keep their process: run it as a child and wait.
  absl::StatusOr<Subprocess> child = Subprocess::Start(argv);
  if (!child.ok()) return Fail(io, "bench", child.status(), kExitFailed);
  absl::StatusOr<int> status = child->Wait(absl::InfiniteDuration());
  if (!status.ok()) return Fail(io, "bench", status.status(), kExitFailed);
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : kExitFailed;
}

}  // namespace

const Command& BenchCommand() {
  static const Command* const command = new Command{bench::BenchSpec(), RunBenchBinary};
  return *command;
}

}  // namespace topicwire::cli
