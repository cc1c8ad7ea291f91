// The build's version: CMake's project version and the git commit the
// build was configured at (empty when unknown). config/CMakeLists.txt
// passes both to version.cpp alone, so a new commit recompiles one file.

#pragma once

namespace keepa::version {

/// "0.1.0".
extern const char* const number;

/// The abbreviated commit hash, or "".
extern const char* const commit;

} // namespace keepa::version
