#include "config/api_key.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "messages/error.hpp"

namespace keepa {

namespace {

std::string trim(const std::string& x) {
  auto ws = " \t\r\n";
  auto first = x.find_first_not_of(ws);
  if (first == std::string::npos)
    return {};
  return x.substr(first, x.find_last_not_of(ws) - first + 1);
}

} // namespace

caf::expected<std::string> load_api_key(const std::string& key_file) {
  if (auto* env = std::getenv("KEEPA_API_KEY"); env != nullptr && *env != 0) {
    auto key = trim(env);
    if (key.find_first_of(" \t\r\n") != std::string::npos)
      return caf::make_error(ec::missing_key,
                             "KEEPA_API_KEY holds whitespace inside the key "
                             "(key not shown)");
    if (!key.empty())
      return key;
  }
  if (key_file.empty())
    return caf::make_error(ec::missing_key,
                           "no API key: set KEEPA_API_KEY or "
                           "keepa.client.key-file");
  return read_api_key_file(key_file);
}

caf::expected<std::string> read_api_key_file(const std::string& key_file) {
  std::error_code fs_err;
  auto kind = std::filesystem::status(key_file, fs_err).type();
  if (kind == std::filesystem::file_type::directory)
    return caf::make_error(ec::missing_key,
                           "key file " + key_file + " is a directory");
  if (!fs_err && kind != std::filesystem::file_type::regular)
    return caf::make_error(ec::missing_key,
                           "key file " + key_file + " is not a regular file");
  std::ifstream in{key_file};
  if (!in)
    return caf::make_error(ec::missing_key, "cannot read key file " + key_file);
  std::stringstream buf;
  buf << in.rdbuf();
  auto key = trim(buf.str());
  if (key.empty())
    return caf::make_error(ec::missing_key,
                           "key file " + key_file + " is empty");
  if (key.find_first_of(" \t\r\n") != std::string::npos)
    return caf::make_error(
      ec::missing_key, "key file " + key_file + " holds more than one word");
  return key;
}

} // namespace keepa
