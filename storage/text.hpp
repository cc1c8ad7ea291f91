// Text as the databases accept it. PostgreSQL refuses a text value that is
// not valid UTF-8 or holds a NUL byte, and fails the whole transaction; Keepa
// titles may carry both (a JSON \u0000, a lone surrogate escape).

#pragma once

#include <string>

namespace keepa::db {

/// `x` as valid UTF-8: each byte that starts no valid sequence (overlong
/// forms and surrogates included) becomes U+FFFD, NUL bytes are dropped.
/// Valid text comes back unchanged. Returns whether anything changed.
bool repair_utf8(std::string& x);

} // namespace keepa::db
