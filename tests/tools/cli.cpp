// The command line every program shares (config/cli.hpp, issue 19): --version,
// --help with each option's default and CAF's internals only under
// --long-help, option errors in plain words, --dump-config that reads back as
// a config file, and keepa-pipeline's log lines with timestamps and levels.

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include "tests/support/run_program.hpp"
#include "tests/support/scratch_dir.hpp"

namespace {

/// Every program of tools/ (and the token demo, a pipeline_config program).
const std::vector<std::string> programs{
  KEEPA_PIPELINE_EXE,      KEEPA_SIM_EXE,           KEEPA_ETA_EXE,
  KEEPA_BENCH_EXE,         KEEPA_STATUS_EXE,        KEEPA_STORAGE_BENCH_EXE,
  KEEPA_STORAGE_CRASH_EXE, KEEPA_TOKEN_DEMO_EXE,    KEEPA_DEALS_EXE,
  KEEPA_LISTING_BENCH_EXE, KEEPA_WEB_BENCH_FILL_EXE};

/// Runs `cmd` with a 20 s bound (exit code 137 when it runs on).
keepa::test::program_outcome run(const std::string& cmd) {
  return keepa::test::run_program("timeout -s KILL 20 " + cmd);
}

std::string base_name(const std::string& path) {
  return std::filesystem::path{path}.filename().string();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

/// A scratch directory, removed afterwards.
struct scratch : keepa::test::scratch_dir {
  scratch() : scratch_dir("keepa-cli") {}
};

/// Options that keep keepa-pipeline off the network and the user's files.
std::string offline(const scratch& s) {
  return " --keepa.client.endpoint=http://127.0.0.1:1 "
         "--keepa.storage.url=sqlite:"
    + (s.dir / "deals.db").string()
    + " --keepa.http.port=0 --keepa.introspection.port=0";
}

} // namespace

TEST_CASE("every program prints its name and version on --version and "
          "exits 0",
          "[tools][cli]") {
  for (auto& program : programs) {
    INFO(program);
    auto r = run(program + " --version");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    auto first = lines_of(r.output);
    REQUIRE(!first.empty());
    std::regex version{base_name(program) + " [0-9]+\\.[0-9]+\\.[0-9]+.*"};
    CHECK(std::regex_match(first.front(), version));
  }
}

TEST_CASE("every program's --help states each option's default and keeps "
          "CAF's internals for --long-help",
          "[tools][cli]") {
  // Options that take no value and have no default worth stating.
  std::regex no_default{
    R"(.*(--help|--long-help|--dump-config|--version)([ )]|$).*)"};
  std::regex option_line{R"(^  (\(-[^)]*\|)?--[a-z].*)"};
  for (auto& program : programs) {
    INFO(program);
    auto r = run(program + " --help");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    size_t options = 0;
    for (auto& line : lines_of(r.output)) {
      if (!std::regex_match(line, option_line)
          || std::regex_match(line, no_default))
        continue;
      ++options;
      INFO(line);
      CHECK(line.find("(default ") != std::string::npos);
      for (auto internal : {"--scheduler.", "--middleman.", "--logger.",
                            "--stream.", "--work-stealing."})
        CHECK(line.find(internal) == std::string::npos);
    }
    CHECK(r.output.find("--version") != std::string::npos);
    auto long_help = run(program + " --long-help");
    CHECK(long_help.exit_code == 0);
    auto positional = program == KEEPA_STORAGE_BENCH_EXE
      || program == KEEPA_STORAGE_CRASH_EXE
      || program == KEEPA_LISTING_BENCH_EXE
      || program == KEEPA_WEB_BENCH_FILL_EXE;
    if (!positional) {
      CHECK(options > 0);
      CHECK(long_help.output.find("--scheduler.max-threads")
            != std::string::npos);
    }
  }
}

TEST_CASE("option errors say in plain words what was expected, with the "
          "value unless the option is secret",
          "[tools][cli]") {
  scratch s;
  struct error_case {
    std::string args;
    std::string says;
  };
  auto c = GENERATE(
    error_case{
      "--keepa.filter.min-price=12.50",
      R"(--keepa.filter.min-price: expected whole cents, got "12.50")"},
    error_case{"--keepa.run-for=5",
               R"(--keepa.run-for: expected a duration with a unit)"},
    error_case{
      "--keepa.max-deals=-3",
      R"(--keepa.max-deals: expected a whole number from 0, got "-3")"},
    error_case{
      "--keepa.filter.min-roi=lots",
      R"(--keepa.filter.min-roi: expected a number (such as 0.25), got "lots")"},
    error_case{"--keepa.bogus=1",
               "--keepa.bogus: no such option (--help lists them)"},
    error_case{"--keepa.client.allow-insecure=maybe",
               "--keepa.client.allow-insecure: a flag takes no value"});
  auto r = run("env KEEPA_API_KEY=k3y-not-to-be-shown "
               + std::string{KEEPA_PIPELINE_EXE} + offline(s) + " " + c.args);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find(c.says) != std::string::npos);
  CHECK(r.output.find("parser_error") == std::string::npos);
  CHECK(r.output.find("k3y") == std::string::npos);
  CHECK(lines_of(r.output).size() == 1);
}

TEST_CASE("the config dump (--dump-config) prints every effective value as a "
          "config file that "
          "reads back to the same configuration",
          "[tools][cli]") {
  scratch s;
  struct tool_case {
    std::string program;
    std::string args;
    /// Lines the dump must hold: defaults and the values given.
    std::vector<std::string> holds;
  };
  auto c = GENERATE_REF(
    tool_case{KEEPA_PIPELINE_EXE,
              offline(s)
                + " --keepa.filter.min-price=1250 --keepa.scan.interval=7min"
                  " --keepa.scan.price-bands=[1000,2500]"
                  " --keepa.filter.min-roi=0.35 --scheduler.max-threads=3",
              {"[keepa.filter]", "min-price = 1250", "min-roi = 0.35",
               "interval = 7min", "price-bands = [1000, 2500]",
               "refresh-after = 24h", "max-threads = 3", "[keepa.update]",
               "grace = 72h", "policy = 'sharing'"}},
    tool_case{KEEPA_ETA_EXE,
              " --eta.refill-rate=20 --keepa.update.grace=96h",
              {"[eta]", "refill-rate = 20", "grace = 96h"}},
    tool_case{KEEPA_SIM_EXE,
              " --sim.refill-rate=250 --sim.strict",
              {"[sim]", "refill-rate = 250", "strict = true",
               "products = 5000"}});
  INFO(c.program << c.args);
  auto first = run(c.program + c.args + " --dump-config");
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  for (auto& line : c.holds) {
    INFO(line);
    CHECK(first.output.find("\n" + line + "\n") != std::string::npos);
  }
  auto file = s.file("dumped.ini", first.output);
  auto second = run(c.program + " --config-file=" + file + " --dump-config");
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  // The same configuration, but for the file named.
  auto without_file = [](const std::string& text) {
    std::string out;
    for (auto& line : lines_of(text))
      if (line.rfind("config-file = ", 0) != 0)
        out += line + "\n";
    return out;
  };
  CHECK(without_file(second.output) == without_file(first.output));
}

TEST_CASE("keepa-pipeline's log lines carry a timestamp and a level; "
          "--keepa.log.level filters them and --keepa.log.format=json "
          "writes JSON lines",
          "[tools][cli]") {
  scratch s;
  // Nothing listens at port 1: connect failures are logged, then run-for
  // ends it.
  auto cmd = "env KEEPA_API_KEY=k3y-not-to-be-shown "
    + std::string{KEEPA_PIPELINE_EXE} + offline(s)
    + " --keepa.client.attempts=1 --keepa.run-for=2s";
  std::regex stamped{R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} )"
                     R"((trace|debug|info|warning|error) .+)"};
  // Runs the command with `more` options; its exit code and stderr.
  auto logged = [&](const std::string& more) {
    auto r
      = run("sh -c '" + cmd + more + " 2>" + (s.dir / "err").string() + "'");
    std::ifstream in{s.dir / "err"};
    return std::make_pair(r.exit_code,
                          std::string{std::istreambuf_iterator<char>{in}, {}});
  };
  SECTION("text") {
    auto [code, err] = logged("");
    INFO(err);
    CHECK(code == 0);
    auto xs = lines_of(err);
    REQUIRE(xs.size() >= 2);
    for (auto& line : xs) {
      INFO(line);
      CHECK(std::regex_match(line, stamped));
    }
    CHECK(err.find("stopping (run-for reached)") != std::string::npos);
    CHECK(err.find("k3y") == std::string::npos);
  }
  SECTION("level error") {
    auto [code, err] = logged(" --keepa.log.level=error");
    INFO(err);
    CHECK(code == 0);
    CHECK(err.find(" info ") == std::string::npos);
    CHECK(err.find("stopping") == std::string::npos);
  }
  SECTION("json") {
    auto [code, err] = logged(" --keepa.log.format=json");
    INFO(err);
    CHECK(code == 0);
    auto xs = lines_of(err);
    REQUIRE(xs.size() >= 2);
    for (auto& line : xs) {
      INFO(line);
      rapidjson::Document doc;
      doc.Parse(line.c_str());
      REQUIRE(!doc.HasParseError());
      CHECK(doc.HasMember("time"));
      CHECK(doc.HasMember("level"));
      CHECK(doc.HasMember("message"));
    }
  }
  SECTION("a bad level is refused") {
    auto r = run(cmd + " --keepa.log.level=loud");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("keepa.log.level") != std::string::npos);
  }
}
