#include "config/locale_option.hpp"

#include <caf/settings.hpp>

#include "messages/error.hpp"

namespace keepa {

caf::expected<std::optional<locale>> locale_option(const caf::settings& opts) {
  auto text = caf::get_or(opts, locale_key, std::string{});
  if (text.empty())
    return std::optional<locale>{};
  if (auto l = parse_locale(text))
    return std::optional<locale>{*l};
  std::string known;
  for (auto& l : locales())
    known += (known.empty() ? "" : ", ") + std::string{l.code} + " ("
      + std::to_string(l.domain) + ")";
  return caf::make_error(ec::invalid_config, locale_key,
                         "unknown locale \"" + text + "\"; expected one of "
                           + known);
}

caf::expected<locale> agreed_locale(const std::optional<locale>& option,
                                    std::optional<int32_t> domain_id,
                                    const std::string& file) {
  if (!domain_id)
    return option ? *option : *locale_of(1);
  auto in_file = locale_of(*domain_id);
  if (!in_file)
    return caf::make_error(ec::invalid_config,
                           file + ": domainId " + std::to_string(*domain_id)
                             + " is no Amazon locale Keepa serves");
  if (option && option->domain != *domain_id)
    return caf::make_error(
      ec::invalid_config,
      file + ": domainId " + std::to_string(*domain_id) + " ("
        + std::string{in_file->code}
        + ") contradicts keepa.locale=" + std::string{option->code}
        + " (domain " + std::to_string(option->domain)
        + "); remove domainId from the query or make the two agree");
  return *in_file;
}

} // namespace keepa
