#include "storage/scope.hpp"

#include <algorithm>

#include "config/locale.hpp"
#include "messages/error.hpp"
#include "storage/soci_backend.hpp"

namespace keepa::db {

bool valid_scope(std::string_view x) {
  return !x.empty() && x.size() <= 64
    && std::all_of(x.begin(), x.end(), [](char c) {
         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
           || c == '_' || c == '-';
       });
}

caf::expected<std::string> resolve_scope(const open_options& opts) {
  if (opts.scope.empty()) {
    if (auto loc = locale_of(opts.domain))
      return std::string{loc->code};
    return std::to_string(opts.domain);
  }
  if (!valid_scope(opts.scope))
    return caf::make_error(ec::invalid_config, "keepa.storage.scope",
                           "expected 1 to 64 of a-z, 0-9, '.', '_' and '-', "
                           "got \""
                             + opts.scope + "\"");
  return opts.scope;
}

} // namespace keepa::db
