// docs/ARCHITECTURE.md and the manifests in deploy/ say what common/topology.h says: the same
// port for each endpoint (with the default base port 7400), the same stage binding it with the
// same socket, and the same stage connecting to it.
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/topology.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace topicwire::topology {
namespace {

// The base port the docs and the manifests use.
const PortPlan kDefaultPorts(7400, 1);

std::string ReadSource(const std::string& relative) {
  std::ifstream file(testing::SourceDir() + "/" + relative);
  EXPECT_TRUE(file.good()) << "cannot read " << relative;
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

std::vector<std::string> Cells(absl::string_view row) {
  std::vector<std::string> cells;
  for (absl::string_view cell : absl::StrSplit(row, '|')) {
    cells.emplace_back(absl::StripAsciiWhitespace(cell));
  }
  // "| a | b |" splits into "", "a", "b", "".
  if (cells.size() >= 2) cells = std::vector<std::string>(cells.begin() + 1, cells.end() - 1);
  return cells;
}

std::optional<Stage> StageNamed(absl::string_view text) {
  for (Stage stage : {Stage::kIngest, Stage::kClassify, Stage::kSink}) {
    if (absl::StartsWith(text, StageBinary(stage))) return stage;
  }
  return std::nullopt;
}

// The endpoint `stage` serves HTTP on: where every worker has its own network namespace (the
// manifests), classify's is kPodWorkerHttp.
Endpoint HttpOf(Stage stage) {
  switch (stage) {
    case Stage::kIngest:
      return Endpoint::kIngestHttp;
    case Stage::kSink:
      return Endpoint::kSinkHttp;
    case Stage::kClassify:
      return Endpoint::kPodWorkerHttp;
  }
  return Endpoint::kIngestHttp;
}

TEST(TopologyAgreementTest, ArchitecturePortTableIsTheTopology) {
  const std::string doc = ReadSource("docs/ARCHITECTURE.md");
  const std::regex port_cell(R"(P(\+(\d+))?(\+i)?)");
  std::set<Endpoint> seen;
  for (absl::string_view line : absl::StrSplit(doc, '\n')) {
    const std::vector<std::string> cells = Cells(line);
    std::smatch match;
    if (cells.size() < 5 || !std::regex_match(cells[0], match, port_cell)) continue;
    const int offset = match[2].matched ? std::stoi(match[2].str()) : 0;
    const EndpointSpec* spec = nullptr;
    for (const EndpointSpec& candidate : Endpoints()) {
      if (candidate.offset == offset) spec = &candidate;
    }
    ASSERT_NE(spec, nullptr) << "ARCHITECTURE.md lists port " << cells[0]
                             << ", which common/topology.h does not have";
    EXPECT_EQ(match[3].matched, spec->endpoint == Endpoint::kWorkerHttp) << line;
    seen.insert(spec->endpoint);
    EXPECT_EQ(StageNamed(cells[1]), spec->owner) << line;
    EXPECT_TRUE(absl::StartsWith(cells[2], SocketName(spec->bind_socket))) << line;
    EXPECT_EQ(absl::StrContains(cells[2], "(127.0.0.1)"), spec->loopback_only) << line;
    if (spec->peer.has_value()) {
      EXPECT_THAT(cells[3], ::testing::HasSubstr(std::string(StageBinary(*spec->peer)))) << line;
      EXPECT_THAT(cells[3],
                  ::testing::HasSubstr(absl::StrCat("(", SocketName(spec->connect_socket), ")")))
          << line;
    }
  }
  EXPECT_EQ(seen.size(), Endpoints().size()) << "ARCHITECTURE.md's port table misses an endpoint";
}

TEST(TopologyAgreementTest, ArchitectureFlagDefaultsUseTheDefaultPorts) {
  const std::string doc = ReadSource("docs/ARCHITECTURE.md");
  std::map<std::pair<Stage, std::string>, std::string> defaults;
  const std::regex code(R"(^`([^`]*)`)");  // a cell's first `code`
  for (absl::string_view line : absl::StrSplit(doc, '\n')) {
    const std::vector<std::string> cells = Cells(line);
    std::smatch flag, value;
    if (cells.size() != 3 || !std::regex_search(cells[1], flag, code) ||
        !std::regex_search(cells[2], value, code) || !absl::StartsWith(flag[1].str(), "--")) {
      continue;
    }
    const std::optional<Stage> stage = StageNamed(cells[0]);
    if (!stage.has_value()) continue;
    defaults[{*stage, flag[1].str().substr(2)}] = value[1].str();
  }
  int checked = 0;
  for (const EndpointSpec& spec : Endpoints()) {
    if (spec.bind_socket == Socket::kHttp) continue;  // --http_listen is off by default
    const int port = kDefaultPorts.Port(spec.endpoint);
    auto bind = defaults.find({spec.owner, std::string(spec.bind_flag)});
    ASSERT_NE(bind, defaults.end()) << "no default for " << spec.bind_flag;
    EXPECT_EQ(bind->second, spec.loopback_only ? absl::StrCat("tcp://127.0.0.1:", port)
                                               : absl::StrCat("tcp://*:", port))
        << spec.bind_flag;
    ++checked;
    if (!spec.peer.has_value()) continue;
    auto connect = defaults.find({*spec.peer, std::string(spec.connect_flag)});
    ASSERT_NE(connect, defaults.end()) << "no default for " << spec.connect_flag;
    EXPECT_EQ(connect->second, absl::StrCat("tcp://127.0.0.1:", port)) << spec.connect_flag;
    ++checked;
  }
  EXPECT_EQ(checked, 10);
}

// What one manifest says about one stage.
struct Manifest {
  std::string where{};
  Stage stage = Stage::kIngest;
  std::vector<std::string> args{};                         // "--flag=value"
  std::vector<std::pair<std::string, int>> named_ports{};  // k8s {name: X, containerPort: N}
  std::vector<int> container_ports{};  // published or probed ports inside the container
};

// Checks one stage's flags: every endpoint flag names the topology's port, binds only what the
// stage owns, connects to the owner's service name; with `complete`, every endpoint it must bind
// is there.
void ExpectArgsAgree(const Manifest& manifest, bool complete = true) {
  std::set<Endpoint> bound;
  for (const std::string& arg : manifest.args) {
    const std::vector<std::string> parts = absl::StrSplit(arg, absl::MaxSplits('=', 1));
    if (parts.size() != 2) continue;
    const std::string flag(absl::StripPrefix(parts[0], "--"));
    const std::string& value = parts[1];
    std::smatch match;
    if (flag == "http_listen") {
      static const std::regex listen(R"(0\.0\.0\.0:(\d+))");
      ASSERT_TRUE(std::regex_match(value, match, listen)) << manifest.where << ": " << arg;
      EXPECT_EQ(std::stoi(match[1].str()), kDefaultPorts.Port(HttpOf(manifest.stage)))
          << manifest.where << ": " << arg;
      bound.insert(HttpOf(manifest.stage));
      continue;
    }
    static const std::regex tcp(R"(tcp://([^:]+):(\d+))");
    if (!std::regex_match(value, match, tcp)) continue;
    const std::string host = match[1].str();
    const int port = std::stoi(match[2].str());
    const EndpointSpec* spec = nullptr;
    for (const EndpointSpec& candidate : Endpoints()) {
      const bool binds =
          host == "*" && candidate.owner == manifest.stage && candidate.bind_flag == flag;
      const bool connects =
          host != "*" && candidate.peer == manifest.stage && candidate.connect_flag == flag;
      if (binds || connects) spec = &candidate;
    }
    ASSERT_NE(spec, nullptr) << manifest.where << ": " << arg << " is no endpoint "
                             << StageBinary(manifest.stage) << " binds or connects to";
    EXPECT_EQ(port, kDefaultPorts.Port(spec->endpoint)) << manifest.where << ": " << arg;
    if (host == "*") {
      bound.insert(spec->endpoint);
    } else {
      EXPECT_EQ(host, StageBinary(spec->owner)) << manifest.where << ": " << arg;
    }
  }
  for (const EndpointSpec& spec : Endpoints()) {
    if (!complete) break;
    // The admin endpoint keeps its loopback default; HTTP on P+10+i is for one shared host.
    if (spec.owner != manifest.stage || spec.loopback_only ||
        spec.endpoint == Endpoint::kWorkerHttp || spec.bind_socket == Socket::kHttp) {
      continue;
    }
    EXPECT_TRUE(bound.count(spec.endpoint)) << manifest.where << " does not bind " << spec.role;
  }
}

// Every port a manifest publishes, names or probes belongs to an endpoint its stage binds.
void ExpectPortsAgree(const Manifest& manifest) {
  std::map<int, const EndpointSpec*> owned;
  for (const EndpointSpec& spec : Endpoints()) {
    if (spec.owner != manifest.stage || spec.endpoint == Endpoint::kWorkerHttp) continue;
    if (spec.bind_socket == Socket::kHttp && spec.endpoint != HttpOf(manifest.stage)) continue;
    owned[kDefaultPorts.Port(spec.endpoint)] = &spec;
  }
  for (int port : manifest.container_ports) {
    EXPECT_TRUE(owned.count(port)) << manifest.where << ": port " << port << " is not one "
                                   << StageBinary(manifest.stage) << " binds";
  }
  for (const auto& [name, port] : manifest.named_ports) {
    auto it = owned.find(port);
    ASSERT_NE(it, owned.end()) << manifest.where << ": port " << name << "=" << port;
    EXPECT_EQ(name, it->second->role) << manifest.where << ": port " << port;
  }
}

int ToInt(const std::string& text) {
  int value = 0;
  EXPECT_TRUE(absl::SimpleAtoi(text, &value)) << text;
  return value;
}

TEST(TopologyAgreementTest, ComposeFileAgrees) {
  const std::string compose = ReadSource("deploy/compose.yaml");
  // Blocks start at "x-classify:" or a service's "  name:" line; classify-N services take the
  // anchor's command.
  std::map<std::string, Manifest> blocks;
  Manifest* current = nullptr;
  const std::regex service(R"(^(x-classify|  ([a-z0-9-]+)):.*$)");
  const std::regex arg(R"(^\s+- (--[a-z_]+=\S+)\s*$)");
  const std::regex published(R"(^\s+- 127\.0\.0\.1:\$\{[A-Z0-9_]+:-(\d+)\}:(\d+)\s*$)");
  const std::regex probe(R"re(topicwire-probe", "(\d+)")re");
  for (absl::string_view piece : absl::StrSplit(compose, '\n')) {
    const std::string line(piece);
    std::smatch match;
    if (std::regex_match(line, match, service)) {
      const std::string name = match[2].matched ? match[2].str() : "classify";
      // Services are named as the stages ("classify-1" for a worker); volumes are not.
      const std::optional<Stage> stage =
          name == "classify" ? std::optional<Stage>(Stage::kClassify) : StageOf(name);
      current = nullptr;
      if (!stage.has_value()) continue;
      current = &blocks[name];
      current->where = "deploy/compose.yaml " + name;
      current->stage = *stage;
    } else if (current == nullptr) {
      continue;
    } else if (std::regex_match(line, match, arg)) {
      current->args.push_back(match[1].str());
    } else if (std::regex_match(line, match, published)) {
      const int host_port = ToInt(match[1].str());
      const int container_port = ToInt(match[2].str());
      current->container_ports.push_back(container_port);
      // The host side repeats the container port, except for the workers, which cannot share one.
      if (current->stage != Stage::kClassify) {
        EXPECT_EQ(host_port, container_port) << line;
      }
    } else if (std::regex_search(line, match, probe)) {
      current->container_ports.push_back(ToInt(match[1].str()));
    }
  }
  for (const char* name : {"ingest", "sink", "classify", "classify-1"}) {
    EXPECT_TRUE(blocks.count(name)) << "deploy/compose.yaml has no " << name;
  }
  for (const auto& [name, manifest] : blocks) {
    if (manifest.stage != Stage::kClassify || name == "classify") ExpectArgsAgree(manifest);
    ExpectPortsAgree(manifest);
  }
}

TEST(TopologyAgreementTest, KubernetesManifestsAgree) {
  const std::regex arg(R"(^\s+- (--[a-z_]+=\S+)\s*$)");
  const std::regex named(
      R"(\{name: ([a-z]+), (?:containerPort|port): (\d+)(?:, targetPort: (\d+))?\})");
  const std::regex probe(R"(httpGet: \{path: /[a-z]+, port: (\d+)\})");
  for (Stage stage : {Stage::kIngest, Stage::kSink, Stage::kClassify}) {
    const std::string path = absl::StrCat("deploy/k8s/", StageBinary(stage), ".yaml");
    Manifest manifest{.where = path, .stage = stage};
    for (absl::string_view piece : absl::StrSplit(ReadSource(path), '\n')) {
      const std::string line(piece);
      std::smatch match;
      if (std::regex_match(line, match, arg)) {
        manifest.args.push_back(match[1].str());
      } else if (std::regex_search(line, match, named)) {
        manifest.named_ports.emplace_back(match[1].str(), ToInt(match[2].str()));
        if (match[3].matched) manifest.container_ports.push_back(ToInt(match[3].str()));
      } else if (std::regex_search(line, match, probe)) {
        manifest.container_ports.push_back(ToInt(match[1].str()));
      }
    }
    EXPECT_FALSE(manifest.named_ports.empty()) << path;
    // The endpoints the workers and sink connect to come from the ConfigMap (below).
    ExpectArgsAgree(manifest);
    ExpectPortsAgree(manifest);
  }

  // deploy/k8s/config.yaml: the ConfigMap of the endpoints the stages connect to, by flag name.
  const std::regex entry(R"(^  ([a-z_]+): (tcp://\S+)\s*$)");
  int connects = 0;
  for (absl::string_view piece : absl::StrSplit(ReadSource("deploy/k8s/config.yaml"), '\n')) {
    const std::string line(piece);
    std::smatch match;
    if (!std::regex_match(line, match, entry)) continue;
    const std::string flag = match[1].str();
    for (const EndpointSpec& spec : Endpoints()) {
      if (!spec.peer.has_value() || spec.connect_flag != flag) continue;
      ExpectArgsAgree({.where = "deploy/k8s/config.yaml",
                       .stage = *spec.peer,
                       .args = {absl::StrCat("--", flag, "=", match[2].str())}},
                      /*complete=*/false);
      ++connects;
    }
  }
  EXPECT_EQ(connects, 3) << "work_endpoint, sink_endpoint, commit_endpoint";
}

// deploy/k8s/networkpolicy.yaml: each stage's pods admit on an internal hop only the pods of
// the stage that connects to it, and every other port a stage binds from anyone; every pod
// selector names a Deployment's pod label.
TEST(TopologyAgreementTest, NetworkPolicyAdmitsOnlyThePeerToEachInternalHop) {
  struct Rule {
    std::optional<Stage> from{};  // nullopt: any source
    std::set<int> ports{};
  };
  std::map<Stage, std::vector<Rule>> rules;
  const std::regex target(
      R"(^  podSelector: \{matchLabels: \{app\.kubernetes\.io/name: ([a-z]+)\}\})");
  const std::regex from(
      R"(^    - from: \[\{podSelector: \{matchLabels: \{app\.kubernetes\.io/name: ([a-z]+)\}\}\}\])");
  const std::regex ports(R"(^    (?:- |  )ports: \[(.*)\])");
  const std::regex port(R"(\{protocol: TCP, port: (\d+)\})");
  std::optional<Stage> current;
  std::optional<Stage> pending_from;
  for (absl::string_view piece :
       absl::StrSplit(ReadSource("deploy/k8s/networkpolicy.yaml"), '\n')) {
    const std::string line(piece);
    std::smatch match;
    if (std::regex_search(line, match, target)) {
      current = StageNamed(match[1].str());
      ASSERT_TRUE(current.has_value()) << line;
      pending_from.reset();
    } else if (std::regex_search(line, match, from)) {
      pending_from = StageNamed(match[1].str());
      ASSERT_TRUE(pending_from.has_value()) << line;
    } else if (std::regex_search(line, match, ports)) {
      ASSERT_TRUE(current.has_value()) << "a rule before any podSelector: " << line;
      Rule rule{.from = absl::StartsWith(line, "    - ports") ? std::nullopt : pending_from};
      const std::string list = match[1].str();
      for (std::sregex_iterator it(list.begin(), list.end(), port), end; it != end; ++it) {
        rule.ports.insert(std::stoi((*it)[1].str()));
      }
      rules[*current].push_back(rule);
      pending_from.reset();
    }
  }
  // The selected labels are the Deployments' pod labels.
  for (Stage stage : {Stage::kIngest, Stage::kSink, Stage::kClassify}) {
    EXPECT_TRUE(rules.count(stage)) << "no NetworkPolicy selects " << StageBinary(stage);
    EXPECT_THAT(ReadSource(absl::StrCat("deploy/k8s/", StageBinary(stage), ".yaml")),
                ::testing::HasSubstr(absl::StrCat(
                    "      labels:\n        app.kubernetes.io/name: ", StageBinary(stage), "\n")))
        << "the " << StageBinary(stage) << " Deployment's pods do not carry its name label";
  }
  int internal = 0;
  for (const EndpointSpec& spec : Endpoints()) {
    if (spec.loopback_only || spec.endpoint == Endpoint::kWorkerHttp) continue;
    if (spec.bind_socket == Socket::kHttp && spec.endpoint != HttpOf(spec.owner)) continue;
    const int number = kDefaultPorts.Port(spec.endpoint);
    std::set<std::optional<Stage>> admitted;
    for (const Rule& rule : rules[spec.owner]) {
      if (rule.ports.count(number)) admitted.insert(rule.from);
    }
    if (spec.internal) {
      ++internal;
      EXPECT_EQ(admitted, (std::set<std::optional<Stage>>{spec.peer}))
          << spec.role << " (port " << number << ") must admit exactly " << StageBinary(*spec.peer);
    } else {
      EXPECT_EQ(admitted, (std::set<std::optional<Stage>>{std::nullopt}))
          << spec.role << " (port " << number << ") must be open to any source";
    }
  }
  EXPECT_EQ(internal, 3);
  // No rule opens a port its stage does not bind.
  for (const auto& [stage, stage_rules] : rules) {
    for (const Rule& rule : stage_rules) {
      for (int number : rule.ports) {
        bool bound = false;
        for (const EndpointSpec& spec : Endpoints()) {
          bound |= spec.owner == stage && spec.endpoint != Endpoint::kWorkerHttp &&
                   kDefaultPorts.Port(spec.endpoint) == number;
        }
        EXPECT_TRUE(bound) << StageBinary(stage) << " does not bind port " << number;
      }
    }
  }
}

}  // namespace
}  // namespace topicwire::topology
