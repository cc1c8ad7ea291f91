#include "config/locale.hpp"

#include <algorithm>
#include <cctype>

namespace keepa {

const std::vector<locale>& locales() {
  static const std::vector<locale> all{
    {1, "us", "www.amazon.com", "USD", "$"},
    {2, "uk", "www.amazon.co.uk", "GBP", "£"},
    {3, "de", "www.amazon.de", "EUR", "€"},
    {4, "fr", "www.amazon.fr", "EUR", "€"},
    {5, "jp", "www.amazon.co.jp", "JPY", "¥"},
    {6, "ca", "www.amazon.ca", "CAD", "C$"},
    {8, "it", "www.amazon.it", "EUR", "€"},
    {9, "es", "www.amazon.es", "EUR", "€"},
    {10, "in", "www.amazon.in", "INR", "₹"},
    {11, "mx", "www.amazon.com.mx", "MXN", "MX$"},
    {12, "br", "www.amazon.com.br", "BRL", "R$"},
  };
  return all;
}

std::optional<locale> locale_of(int32_t domain) {
  auto& all = locales();
  auto i = std::find_if(all.begin(), all.end(),
                        [&](const locale& l) { return l.domain == domain; });
  if (i == all.end())
    return std::nullopt;
  return *i;
}

std::optional<locale> parse_locale(std::string_view x) {
  if (x.empty())
    return std::nullopt;
  if (std::all_of(x.begin(), x.end(),
                  [](unsigned char c) { return std::isdigit(c); })) {
    if (x.size() > 3)
      return std::nullopt;
    return locale_of(std::stoi(std::string{x}));
  }
  std::string lower;
  for (unsigned char c : x)
    lower += static_cast<char>(std::tolower(c));
  auto& all = locales();
  auto i = std::find_if(all.begin(), all.end(),
                        [&](const locale& l) { return l.code == lower; });
  if (i == all.end())
    return std::nullopt;
  return *i;
}

std::string amazon_product_url(const locale& l, std::string_view asin) {
  std::string result{"https://"};
  result += l.amazon_host;
  result += "/dp/";
  result += asin;
  return result;
}

std::string keepa_product_url(const locale& l, std::string_view asin) {
  std::string result{"https://keepa.com/#!product/"};
  result += std::to_string(l.domain);
  result += '-';
  result += asin;
  return result;
}

} // namespace keepa
