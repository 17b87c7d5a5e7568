// A client in another language, written from the .proto files alone, publishes to and
// subscribes from the real pipeline: examples/python/roundtrip.py with classes that protoc
// generates here from proto/article.proto.
#include <sys/wait.h>

#include <string>

#include "common/subprocess.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::e2e {
namespace {

using namespace ::topicwire::testing::prelude;

// Debian's interpreter, which has python3-zmq and python3-protobuf (not a pyenv shim's).
constexpr char kPython[] = "/usr/bin/python3";

int RunToCompletion(const std::vector<std::string>& argv, const std::string& log) {
  absl::StatusOr<Subprocess> process = Subprocess::Start(argv, log);
  if (!process.ok()) return -1;
  absl::StatusOr<int> status = process->Wait(absl::Seconds(90));
  return status.ok() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

TEST(PythonClientE2eTest, PublishesAndSubscribesWithOnlyTheProtoFiles) {
  const std::string dir = testing::MakeTempDir();
  if (RunToCompletion({kPython, "-c", "import zmq, google.protobuf"}, dir + "/probe.log") != 0) {
    GTEST_SKIP()
        << "needs python3-zmq and python3-protobuf (scripts/setup-debian.sh installs them)";
  }
  ASSERT_EQ(RunToCompletion({"protoc", "--python_out=" + dir, "-I", testing::SourceDir(),
                             testing::SourceDir() + "/proto/article.proto"},
                            dir + "/protoc.log"),
            0)
      << "protoc failed; see " << dir << "/protoc.log";

  Pipeline pipeline;
  pipeline.StartAll(/*workers=*/1);
  const std::string log = dir + "/client.log";
  const std::string script = testing::SourceDir() + "/examples/python/roundtrip.py";
  setenv("PYTHONPATH", dir.c_str(), 1);
  const int exit_code = RunToCompletion({kPython, script, "--publish", pipeline.publish_endpoint(),
                                         "--stream", pipeline.stream_endpoint()},
                                        log);
  unsetenv("PYTHONPATH");
  std::string output;
  if (FILE* f = fopen(log.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0) output.append(buffer, n);
    fclose(f);
  }
  EXPECT_EQ(exit_code, 0) << output << pipeline.Logs();
  EXPECT_NE(output.find("quantum#"), std::string::npos) << output;
  EXPECT_NE(output.find("untagged#"), std::string::npos) << output;
}

}  // namespace
}  // namespace topicwire::e2e
