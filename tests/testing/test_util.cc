#include "tests/testing/test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace topicwire::testing {
namespace {

// Returns the port number when `port` (0 = any) can be bound on 127.0.0.1, else 0.
int TryBind(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int result = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    result = ntohs(addr.sin_port);
  }
  close(fd);
  return result;
}

}  // namespace

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration backoff = absl::Milliseconds(1);
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(50));
  }
}

int FreeLoopbackPort() {
  const int port = TryBind(0);
  if (port == 0) throw std::runtime_error("no free loopback port");
  return port;
}

int FreeLoopbackPortRange(int count) {
  // Tests run in parallel processes: seed per process and per call so that they do not probe
  // the same ports, and stay below Linux's ephemeral range (32768+), which the OS hands out to
  // outgoing connections at any moment.
  static std::mt19937 random(static_cast<unsigned>(getpid()) * 2654435761u ^
                             static_cast<unsigned>(absl::ToUnixNanos(absl::Now())));
  std::uniform_int_distribution<int> pick(10000, 32000 - count);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int base = pick(random);
    bool all_free = true;
    for (int i = 0; i < count && all_free; ++i) all_free = TryBind(base + i) == base + i;
    if (all_free) return base;
  }
  throw std::runtime_error(absl::StrCat("no ", count, " consecutive free loopback ports"));
}

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "topicwire-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::string BinDir() {
  const char* dir = std::getenv("TOPICWIRE_BIN_DIR");
  return dir != nullptr ? dir : TOPICWIRE_DEFAULT_BIN_DIR;
}

std::string SourceDir() {
  const char* dir = std::getenv("TOPICWIRE_SOURCE_DIR");
  return dir != nullptr ? dir : TOPICWIRE_DEFAULT_SOURCE_DIR;
}

std::string DevSetPath() {
  if (const char* path = std::getenv("TOPICWIRE_DEV_SET")) return path;
  return SourceDir() + "/../shared/data/dev.jsonl";
}

std::string DevNewsSetPath() {
  if (const char* path = std::getenv("TOPICWIRE_DEV_NEWS_SET")) return path;
  return SourceDir() + "/../shared/data/dev-news.jsonl";
}

}  // namespace topicwire::testing
