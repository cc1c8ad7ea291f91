// The programs built on pipeline_config accept the same keepa.* options:
// each program's --help and --long-help list every option of the registry
// exactly once, with the registry's help text.

#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include <caf/config_option.hpp>
#include <caf/config_option_set.hpp>

#include "config/pipeline_config.hpp"

using namespace keepa;

namespace {

std::string str(caf::string_view x) {
  return {x.begin(), x.end()};
}

/// What a program prints on stdout and stderr.
std::string run(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe{
    popen((cmd + " 2>&1").c_str(), "r"), pclose};
  REQUIRE(pipe);
  std::string result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe.get())) > 0)
    result.append(buf, n);
  return result;
}

/// The keepa.* options of a help text ("  --keepa.x=<type>  : text"):
/// name -> help text; a name listed twice makes the text "twice".
std::map<std::string, std::string> keepa_options(const std::string& help) {
  std::map<std::string, std::string> result;
  std::istringstream in{help};
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(' ');
    if (first == std::string::npos || line.compare(first, 8, "--keepa.") != 0)
      continue;
    auto name_end = line.find_first_of("= ", first);
    auto name = line.substr(first + 2, name_end - first - 2);
    auto colon = line.find(" : ", name_end);
    auto text = colon == std::string::npos ? std::string{}
                                           : line.substr(colon + 3);
    if (!result.emplace(name, text).second)
      result[name] = "twice";
  }
  return result;
}

/// The registry's keepa.* options with their help texts.
std::map<std::string, std::string> registry() {
  pipeline_config cfg;
  std::map<std::string, std::string> result;
  for (auto& opt : cfg.options()) {
    auto name = str(opt.full_name());
    if (name.compare(0, 6, "keepa.") == 0)
      result.emplace(name, str(opt.description()));
  }
  return result;
}

} // namespace

TEST_CASE("keepa-pipeline, keepa-eta, keepa-bench and the token demo list "
          "the same keepa.* options",
          "[tools][options]") {
  auto expected = registry();
  REQUIRE(expected.size() > 40);
  auto program = GENERATE(as<std::string>{}, KEEPA_PIPELINE_EXE, KEEPA_ETA_EXE,
                          KEEPA_BENCH_EXE, KEEPA_TOKEN_DEMO_EXE);
  for (auto flag : {"--help", "--long-help"}) {
    INFO(program << " " << flag);
    auto listed = keepa_options(run(program + " " + flag));
    CHECK(listed == expected);
  }
}
