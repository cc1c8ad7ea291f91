// No actor may sleep or block on a receive: the bucket refills while actors
// answer other messages, never while they hold a thread.

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <catch2/catch.hpp>

TEST_CASE("no actor in actors/ sleeps or blocks on receive",
          "[token][no_blocking]") {
  namespace fs = std::filesystem;
  const std::regex forbidden{
    R"((sleep_for|sleep_until|\busleep\s*\(|\bnanosleep\s*\(|\bsleep\s*\()"
    R"(|->\s*receive\s*\(|\.receive\s*\(|receive_for|receive_while|do_receive))"};
  size_t files = 0;
  for (auto& entry :
       fs::recursive_directory_iterator(KEEPA_SOURCE_DIR "/actors")) {
    auto ext = entry.path().extension();
    if (ext != ".cpp" && ext != ".hpp")
      continue;
    ++files;
    std::ifstream in{entry.path()};
    std::string line;
    int no = 0;
    while (std::getline(in, line)) {
      ++no;
      auto code = line.substr(0, line.find("//"));
      INFO(entry.path().filename().string() << ":" << no << ": " << line);
      CHECK_FALSE(std::regex_search(code, forbidden));
    }
  }
  CHECK(files >= 4);
}
