// A scratch directory for tests that write files (config files, key
// files, TLS material, a runtime directory): made fresh under the system's
// temporary directory for its owner only, removed with everything in it
// afterwards.

#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include <unistd.h>

namespace keepa::test {

struct scratch_dir {
  std::filesystem::path dir;

  /// TMP/PREFIX-PID, emptied first.
  explicit scratch_dir(const std::string& prefix) {
    dir = std::filesystem::temp_directory_path()
      / (prefix + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  }

  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  /// `name` in the directory, made for its owner only if missing (an
  /// XDG_RUNTIME_DIR); returns its path.
  std::string private_dir(const std::string& name) const {
    auto path = dir / name;
    if (std::filesystem::create_directories(path))
      std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path.string();
  }

  /// Writes `text` to `name` in the directory; returns its path.
  std::string file(const std::string& name, const std::string& text) {
    auto path = dir / name;
    std::ofstream{path} << text;
    return path.string();
  }
};

} // namespace keepa::test
