// A pipeline's Amazon locale (issue 22): `keepa.locale` (a code of
// config/locale.hpp or Keepa's domain id) and the domainId a query file
// may name must agree; the locale sets the queries' domain, the currency
// of the deals and STORAGE's domain and default scope.

#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "config/locale.hpp"

namespace keepa {

/// The option's key.
constexpr const char* locale_key = "keepa.locale";

/// `keepa.locale` of `opts`: none when unset or empty; `ec::invalid_config`
/// naming the known codes for a locale config/locale.hpp does not know.
caf::expected<std::optional<locale>> locale_option(const caf::settings& opts);

/// The locale of a pipeline whose option is `option` and whose query file
/// `file` names `domain_id` (none: no domainId in the file): the option,
/// else the file's, else us. A file's domainId that contradicts the option
/// or names no locale is `ec::invalid_config`.
caf::expected<locale> agreed_locale(const std::optional<locale>& option,
                                    std::optional<int32_t> domain_id,
                                    const std::string& file);

} // namespace keepa
