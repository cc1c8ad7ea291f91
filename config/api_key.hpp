// The Keepa API key: from the environment or a key file, never from the
// command line. It is never printed, logged or stored; errors name the
// file, never the key.

#pragma once

#include <string>

#include <caf/expected.hpp>

#include "messages/error.hpp"

namespace keepa {

/// Reads the key from KEEPA_API_KEY, else from `key_file` (see
/// read_api_key_file).
caf::expected<std::string> load_api_key(const std::string& key_file);

/// Reads the key from `key_file` alone: one word, surrounding whitespace
/// trimmed. Fails with ec::missing_key when the file is unreadable, empty
/// or holds more than one word.
caf::expected<std::string> read_api_key_file(const std::string& key_file);

/// Reads one word from the regular file `path` (surrounding whitespace
/// trimmed); errors say `what` and `path`, never the content, with `code`.
caf::expected<std::string> read_secret_file(const std::string& path,
                                            const std::string& what, ec code);

} // namespace keepa
