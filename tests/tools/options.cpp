// The programs built on pipeline_config accept the same keepa.* options:
// each program's --help and --long-help list every option of the registry
// exactly once, with the registry's help text.

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include <caf/config_option.hpp>
#include <caf/config_option_set.hpp>

#include "config/pipeline_config.hpp"
#include "tests/support/run_program.hpp"
#include "tests/support/scratch_dir.hpp"

using namespace keepa;

namespace {

std::string str(caf::string_view x) {
  return {x.begin(), x.end()};
}

/// What a program prints on stdout and stderr.
std::string run(const std::string& cmd) {
  return keepa::test::run_program(cmd).output;
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

// -- configuration that must be refused (issue 16, item 10 and its list) -----

namespace {

/// Runs `cmd` (through sh and env) with a 10 s bound: a configuration
/// wrongly accepted makes keepa-pipeline run on, and the bound turns that
/// into exit code 137.
keepa::test::program_outcome run_bounded(const std::string& cmd) {
  return keepa::test::run_program("timeout -s KILL 10 env " + cmd);
}

/// A scratch directory, removed afterwards.
struct scratch : keepa::test::scratch_dir {
  scratch() : scratch_dir("keepa-refused") {}
};

struct refused_case {
  /// Extra arguments, or the environment prefix and arguments.
  std::string args;
  /// What the message must say.
  std::string says;
};

} // namespace

TEST_CASE("keepa-pipeline refuses bad configuration: exit 2, a clear "
          "message, nothing started",
          "[tools][options]") {
  scratch s;
  auto db = (s.dir / "deals.db").string();
  std::filesystem::create_directories(s.dir / "key-dir");
  auto ini = [&](const std::string& name, const std::string& text) {
    return "--config-file=" + s.file(name, text);
  };
  const std::string key = "KEEPA_API_KEY=k3y-not-to-be-shown";
  std::vector<refused_case> cases{
    {key + " PROG --keepa.run-for=-5s", "keepa.run-for"},
    {key + " PROG --keepa.status-every=-1s", "keepa.status-every"},
    {key + " PROG --keepa.status-every=0s", "keepa.status-every"},
    {key + " PROG --keepa.client.endpoint=http://", "keepa.client.endpoint"},
    {key + " PROG --keepa.client.endpoint=http://127.0.0.1:99999",
     "keepa.client.endpoint"},
    {key + " PROG --keepa.client.ca-file=" + (s.dir / "no-such.pem").string(),
     "keepa.client.ca-file"},
    {"KEEPA_API_KEY='k3y not-to-be-shown' PROG", "whitespace"},
    {key + " PROG --scheduler.max-threads=0", "scheduler.max-threads"},
    {"KEEPA_API_KEY= PROG --keepa.client.key-file="
       + (s.dir / "key-dir").string(),
     "is a directory"},
    {key + " PROG --keepa.client.key=k3y-not-to-be-shown",
     "--keepa.client.key"},
    {key + " PROG --keepa.client.endpoint=http://10.1.2.3:8080",
     "allow-insecure"},
    {key + " PROG " + ini("unknown-key.ini", "[keepa.filter]\nmin-rio=0.3\n"),
     "keepa.filter.min-rio"},
    {key + " PROG "
       + ini("unknown-section.ini", "[keepa.filtr]\nmin-roi=0.3\n"),
     "keepa.filtr.min-roi"},
    {key + " PROG "
       + ini("wrong-type.ini", "[keepa.filter]\nmin-roi=\"abc\"\n"),
     "keepa.filter.min-roi"},
  };
  for (auto& c : cases) {
    auto cmd = c.args;
    auto pos = cmd.find("PROG");
    cmd.replace(pos, 4,
                std::string{KEEPA_PIPELINE_EXE}
                  + " --keepa.client.endpoint=http://127.0.0.1:1"
                    " --keepa.storage.url=sqlite:"
                  + db + " --keepa.http.port=0 --keepa.introspection.port=0");
    INFO(cmd);
    auto r = run_bounded(cmd);
    INFO(r.output.substr(0, 400));
    CHECK(r.exit_code == 2);
    CHECK(r.output.find(c.says) != std::string::npos);
    // Never the key, nor a status line: nothing was started.
    CHECK(r.output.find("k3y") == std::string::npos);
    CHECK(r.output.find("balance") == std::string::npos);
    CHECK(!std::filesystem::exists(db));
    std::filesystem::remove(db);
  }
}

TEST_CASE("keepa-pipeline sends the key in cleartext to a host that is not "
          "loopback only with --keepa.client.allow-insecure, and warns",
          "[tools][options]") {
  scratch s;
  auto db = (s.dir / "deals.db").string();
  // 192.0.2.1 (TEST-NET-1) is not loopback and answers nobody.
  auto r = run_bounded(
    "KEEPA_API_KEY=k3y-not-to-be-shown " + std::string{KEEPA_PIPELINE_EXE}
    + " --keepa.client.endpoint=http://192.0.2.1:9"
      " --keepa.client.allow-insecure"
      " --keepa.client.connect-timeout=1s"
      " --keepa.run-for=1s --keepa.storage.url=sqlite:"
    + db + " --keepa.http.port=0 --keepa.introspection.port=0");
  INFO(r.output.substr(0, 600));
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("WARNING: --keepa.client.allow-insecure: the API key "
                      "goes in CLEARTEXT over http:// to 192.0.2.1")
        != std::string::npos);
  CHECK(r.output.find("k3y") == std::string::npos);
}
