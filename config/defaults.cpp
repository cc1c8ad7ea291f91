#include "config/defaults.hpp"

#include "config/data_dir.hpp"

namespace keepa::defaults {

std::string profiles_dir() {
  return data_dir() + "/profiles";
}

std::string scan::query_file() {
  return data_dir() + "/deal_query.json";
}

std::string scan::finder_query_file() {
  return data_dir() + "/finder_query.json";
}

} // namespace keepa::defaults
