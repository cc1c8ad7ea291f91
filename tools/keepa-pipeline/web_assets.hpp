// The dashboard's files (tools/keepa-pipeline/web/), embedded in the binary
// at build time by cmake/KeepaEmbedFiles.cmake: keepa-pipeline serves them
// itself, with nothing fetched from elsewhere.

#pragma once

#include <string_view>
#include <vector>

namespace keepa {

/// One embedded file.
struct embedded_file {
  /// Its URL path: "/" + its path below web/ ("/index.html", "/app.js").
  std::string_view path;
  std::string_view content_type;
  std::string_view body;
};

/// Every file of web/, in the order CMake lists them.
const std::vector<embedded_file>& embedded_files();

} // namespace keepa
