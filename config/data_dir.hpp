// Where the programs find their data, the profiles (profiles/*.ini) and the
// default deal query (deal_query.json): relative to their own executable,
// so no path of the source or build tree is compiled in and an installed
// tree can be moved.
//
// - Installed: share/keepa-pipeline beside the program's bin/ directory
//   (KEEPA_DATA_FROM_BIN, from GNUInstallDirs: ../share/keepa-pipeline).
// - In a build tree (a CMakeCache.txt in a directory above the program):
//   that build directory's share/keepa-pipeline, whose entries configuring
//   linked to the source tree's config/.

#pragma once

#include <filesystem>
#include <string>

namespace keepa {

/// The data directory of the program at `exe`: the installed layout when
/// it exists, else the build tree's, else the installed layout's path
/// (which then does not exist, so errors name where it was looked for).
std::filesystem::path find_data_dir(const std::filesystem::path& exe);

/// find_data_dir of the running program (/proc/self/exe), found once.
const std::string& data_dir();

} // namespace keepa
