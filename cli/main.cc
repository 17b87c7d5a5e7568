// topicwire: the command-line client (publish, subscribe, tag, eval) and local runner (up).
// Everything but argv handling lives in topicwire_cli (cli/commands.h) so that tests can drive it.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return topicwire::cli::RunCli(
      args, {.in = std::cin, .out = std::cout, .err = std::cerr, .use_signals = true});
}
