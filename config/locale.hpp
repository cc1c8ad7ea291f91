// Amazon locales as Keepa numbers them (../shared/keepa-api.md: the
// `domain=` parameter and `domainId` in selections): one table, so the
// storage, the deal links, keepa-sim's catalogues and the shared budget
// agree on what "domain 3" is.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keepa {

/// One Amazon marketplace.
struct locale {
  /// Keepa's domain id: 1 com, 2 co.uk, 3 de, ... (0 and 7 are unused).
  int32_t domain;
  /// Short code users type: "us", "uk", "de", ...
  std::string_view code;
  /// The marketplace's host, e.g. "www.amazon.co.uk".
  std::string_view amazon_host;
  /// ISO 4217 currency of its prices.
  std::string_view currency;
  /// How a price is shown: "$", "£", "€", ... (Keepa's prices are in
  /// hundredths of the currency's unit, for every locale).
  std::string_view currency_symbol;
};

/// Every locale Keepa serves, by domain id.
const std::vector<locale>& locales();

/// The locale of a domain id; none for 0, 7 and unknown ids.
std::optional<locale> locale_of(int32_t domain);

/// The locale for a code ("us", "uk", "de", ...) or a domain id given as
/// text ("1", "2", ...); none when neither matches.
std::optional<locale> parse_locale(std::string_view code_or_id);

/// https://www.amazon.<tld>/dp/<ASIN>
std::string amazon_product_url(const locale& l, std::string_view asin);

/// https://keepa.com/#!product/<domain>-<ASIN>
std::string keepa_product_url(const locale& l, std::string_view asin);

} // namespace keepa
