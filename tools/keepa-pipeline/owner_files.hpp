// Files only their owner may read: the HTTP endpoint's per-run token and
// the credentials of CAF introspection over TLS live in one directory of
// mode 0700 ($XDG_RUNTIME_DIR/keepa-pipeline, else ~/.keepa-pipeline).

#pragma once

#include <string>

#include <caf/error.hpp>

namespace keepa {

/// $XDG_RUNTIME_DIR/keepa-pipeline, else $HOME/.keepa-pipeline (not
/// created).
std::string owner_dir();

/// Creates `dir` with mode 0700, or checks that the existing one is ours
/// and closed to everyone else.
caf::error private_directory(const std::string& dir);

/// Writes `text` to `path` (mode 0600, never through a symlink).
caf::error write_private_file(const std::string& path, const std::string& text);

} // namespace keepa
