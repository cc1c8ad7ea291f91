#include "config/defaults.hpp"

#ifndef KEEPA_CONFIG_DIR
#  define KEEPA_CONFIG_DIR "config"
#endif

namespace keepa::defaults {

std::string profiles_dir() {
  return KEEPA_CONFIG_DIR "/profiles";
}

std::string scan::query_file() {
  return KEEPA_CONFIG_DIR "/deal_query.json";
}

std::string scan::finder_query_file() {
  return KEEPA_CONFIG_DIR "/finder_query.json";
}

} // namespace keepa::defaults
