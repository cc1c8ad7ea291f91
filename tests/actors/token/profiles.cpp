#include "config/profile.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <sys/wait.h>

#include "config/pipeline_config.hpp"
#include "messages/error.hpp"

using namespace keepa;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    char tmpl[] = "/tmp/keepa-profiles-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~temp_dir() {
    fs::remove_all(path);
  }
  void write(const std::string& file, const std::string& text) {
    std::ofstream{path / file} << text;
  }
};

const char* valid_profile = R"(
[profile]
name="t"
min-rate=0
floor=-100
scan-pages=1
peek-batch=20
commit-batch=5
update-batch=50
priority=["commit", "peek", "scan"]
updater-share=0.25
peek-offers=0
commit-offers=20
)";

std::string with(const std::string& from, const std::string& to) {
  std::string result = valid_profile;
  auto pos = result.find(from);
  REQUIRE(pos != std::string::npos);
  result.replace(pos, from.size(), to);
  return result;
}

} // namespace

TEST_CASE("the shipped profiles load and cover every tier",
          "[token][profiles]") {
  auto xs = load_profiles(default_profiles_dir());
  REQUIRE(xs);
  REQUIRE(xs->size() == 4);
  CHECK(select_profile(*xs, 5)->name == "below-10");
  CHECK(select_profile(*xs, 10)->name == "below-20");
  CHECK(select_profile(*xs, 25)->name == "below-60");
  CHECK(select_profile(*xs, 60)->name == "from-60");
  CHECK(select_profile(*xs, 250)->name == "from-60");
  for (auto& p : *xs) {
    CHECK(p.floor == -180);
    CHECK_FALSE(validate(p));
  }
}

TEST_CASE("a valid profile file parses", "[token][profiles]") {
  temp_dir dir;
  dir.write("t.ini", valid_profile);
  auto xs = load_profiles(dir.path.string());
  REQUIRE(xs);
  CHECK(xs->front().floor == -100);
  CHECK(xs->front().updater_share == Approx(0.25));
}

TEST_CASE("invalid profiles are refused with a clear message",
          "[token][profiles]") {
  struct bad {
    std::string text;
    std::string message;
  };
  auto c = GENERATE(
    bad{with("floor=-100", "floor=0"), "floor must be negative"},
    bad{with("floor=-100", "floor=5"), "floor must be negative"},
    bad{with("peek-batch=20", "peek-batch=0"), "peek-batch must be in 1..100"},
    bad{with("peek-batch=20", "peek-batch=101"),
        "peek-batch must be in 1..100"},
    bad{with("update-batch=50", "update-batch=500"),
        "update-batch must be in 1..100"},
    bad{with("scan-pages=1", "scan-pages=68"), "scan-pages must be in 1..67"},
    bad{with("peek-offers=0", "peek-offers=10"), "peek-offers must be 0"},
    bad{with("commit-offers=20", "commit-offers=0"),
        "commit-offers must be 20..100"},
    bad{with("min-rate=0", "min-rate=0\nbatch-size=5"),
        "unknown key profile.batch-size"},
    bad{with("[profile]", "[profil]"), "unknown section [profil]"},
    bad{with(R"(["commit", "peek", "scan"])", R"(["commit", "peek"])"),
        "priority must order commit, peek and scan"},
    bad{with(R"(["commit", "peek", "scan"])", R"(["commit", "peek", "ship"])"),
        "unknown stage \"ship\""});
  temp_dir dir;
  dir.write("t.ini", c.text);
  auto xs = load_profiles(dir.path.string());
  REQUIRE_FALSE(xs);
  CHECK(xs.error() == ec::invalid_config);
  auto msg = render(xs.error());
  INFO(msg);
  CHECK(msg.find(c.message) != std::string::npos);
}

TEST_CASE("a missing profiles directory is an error", "[token][profiles]") {
  auto xs = load_profiles("/nonexistent/keepa");
  REQUIRE_FALSE(xs);
  CHECK(render(xs.error()).find("profiles directory not found")
        != std::string::npos);
}

#ifdef KEEPA_TOKEN_DEMO
namespace {

int run_demo(const std::string& args) {
  auto cmd = std::string{KEEPA_TOKEN_DEMO} + " " + args + " >/dev/null 2>&1";
  auto rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

} // namespace

TEST_CASE("bad configuration stops the program with exit code 2",
          "[token][profiles]") {
  temp_dir dir;
  dir.write("t.ini", with("floor=-100", "floor=0"));
  CHECK(run_demo("--keepa.profiles-dir=" + dir.path.string()) == 2);
  CHECK(run_demo("--keepa.profile=nope") == 2);
  CHECK(run_demo("--keepa.no-such-option=1") == 2);
  CHECK(run_demo("--demo.hours=1") == 0);
}
#endif
