// Storage scopes (issue 22): several pipelines store into one database,
// each keeping its own scan watermark, tracked positions and run counters
// under a scope (system_state and pending rows, schema 6). A pipeline's
// scope is `keepa.storage.scope`, or its locale's code ("us", "uk", ...)
// when none is given; rows of older schemas belong to "us".

#pragma once

#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace keepa::db {

struct open_options;

/// The scope older schemas' rows migrate to: domain 1's (Amazon US).
constexpr const char* default_scope = "us";

/// Whether `x` may name a scope: 1 to 64 of a-z, 0-9, '.', '_' and '-'.
bool valid_scope(std::string_view x);

/// The scope of `opts`: its own, else the locale code of its domain (the
/// domain id as text for a domain without a locale); `ec::invalid_config`
/// for a scope that is not valid_scope.
caf::expected<std::string> resolve_scope(const open_options& opts);

} // namespace keepa::db
