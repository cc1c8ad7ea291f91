// Where the programs find their profiles and deal query
// (config/data_dir.hpp, issue 19): beside their own bin/ once installed,
// the build tree's links to config/ when run from a build tree, never a
// path compiled in.

#include "config/data_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "config/defaults.hpp"
#include "config/profile.hpp"

using namespace keepa;
namespace fs = std::filesystem;

namespace {

/// A scratch directory, removed with everything in it.
struct scratch {
  fs::path root;
  scratch() {
    auto tmpl = (fs::temp_directory_path() / "keepa-data-dir-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    root = tmpl;
  }
  ~scratch() {
    std::error_code err;
    fs::remove_all(root, err);
  }
  /// Creates the file `rel` (and its directories) below the root.
  fs::path file(const std::string& rel) {
    auto path = root / rel;
    fs::create_directories(path.parent_path());
    std::ofstream{path} << "x\n";
    return path;
  }
  fs::path dir(const std::string& rel) {
    fs::create_directories(root / rel);
    return root / rel;
  }
  /// An installed tree below `prefix`: its program and its data directory.
  std::pair<fs::path, fs::path> install(const std::string& prefix) {
    return {file(prefix + "/bin/keepa-pipeline"),
            dir(prefix + "/share/keepa-pipeline")};
  }
  /// A build directory `build` and its data directory, returned.
  fs::path build_tree(const std::string& build) {
    file(build + "/CMakeCache.txt");
    return dir(build + "/share/keepa-pipeline");
  }
};

} // namespace

TEST_CASE("an installed program finds share/keepa-pipeline beside its bin/",
          "[config][install]") {
  scratch s;
  auto [exe, data] = s.install("opt/keepa");
  CHECK(find_data_dir(exe) == data);
  // A copy elsewhere finds its own.
  auto [moved, moved_data] = s.install("elsewhere/usr");
  CHECK(find_data_dir(moved) == moved_data);
}

TEST_CASE("a program in a build tree finds the build tree's data directory",
          "[config][install]") {
  scratch s;
  auto data = s.build_tree("build");
  CHECK(find_data_dir(s.file("build/tools/keepa-pipeline/keepa-pipeline"))
        == data);
  CHECK(find_data_dir(s.file("build/tests/config/keepa_config_tests")) == data);
}

TEST_CASE("an installed tree inside a build tree uses its own data",
          "[config][install]") {
  scratch s;
  s.build_tree("build");
  auto [exe, data] = s.install("build/stage/usr");
  CHECK(find_data_dir(exe) == data);
}

TEST_CASE("only the nearest build directory counts, and nothing beyond it",
          "[config][install]") {
  scratch s;
  // An outer build tree with data, an inner one without: the inner one is
  // the program's, so the answer is the installed layout's path.
  s.build_tree("outer");
  s.file("outer/inner/CMakeCache.txt");
  auto exe = s.file("outer/inner/bin/keepa-pipeline");
  CHECK(find_data_dir(exe) == s.root / "outer/inner/share/keepa-pipeline");
  // Neither installed nor in a build tree: the installed layout's path, so
  // an error names where the data was looked for; a share/keepa-pipeline
  // further up (another install) is not taken.
  s.dir("usr/share/keepa-pipeline");
  auto lone = s.file("usr/local/bin/keepa-pipeline");
  CHECK(find_data_dir(lone) == s.root / "usr/local/share/keepa-pipeline");
}

TEST_CASE("the tests, run from the build tree, load the source tree's "
          "profiles through the build tree's links",
          "[config][install]") {
  CHECK(fs::path{data_dir()}
        == fs::path{KEEPA_BINARY_DIR} / "share/keepa-pipeline");
  CHECK(fs::equivalent(defaults::profiles_dir(),
                       fs::path{KEEPA_SOURCE_DIR} / "config/profiles"));
  CHECK(fs::equivalent(defaults::scan::query_file(),
                       fs::path{KEEPA_SOURCE_DIR} / "config/deal_query.json"));
  auto xs = load_profiles(defaults::profiles_dir());
  REQUIRE(xs);
  CHECK(xs->size() == 4);
}
