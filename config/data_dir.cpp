#include "config/data_dir.hpp"

#include <system_error>

// KEEPA_DATA_FROM_BIN and KEEPA_DATA_SUBDIR: config/CMakeLists.txt.

namespace keepa {

namespace fs = std::filesystem;

fs::path find_data_dir(const fs::path& exe) {
  std::error_code err;
  auto bin = exe.parent_path();
  auto installed = (bin / KEEPA_DATA_FROM_BIN).lexically_normal();
  if (fs::is_directory(installed, err))
    return installed;
  // The nearest build directory above the program, and only that one.
  for (auto dir = bin; !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / "CMakeCache.txt", err)) {
      auto linked = dir / KEEPA_DATA_SUBDIR;
      if (fs::is_directory(linked, err))
        return linked;
      break;
    }
    if (dir == dir.root_path())
      break;
  }
  return installed;
}

const std::string& data_dir() {
  static const std::string result = [] {
    std::error_code err;
    // The target of /proc/self/exe (" (deleted)" appended after the file was
    // replaced, e.g. by an upgrade, changes only the file name).
    auto exe = fs::read_symlink("/proc/self/exe", err);
    return find_data_dir(err ? fs::path{} : exe).string();
  }();
  return result;
}

} // namespace keepa
