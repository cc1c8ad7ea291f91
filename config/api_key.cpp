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
  return read_secret_file(key_file, "key file", ec::missing_key);
}

caf::expected<std::string> read_secret_file(const std::string& path,
                                            const std::string& what, ec code) {
  std::error_code fs_err;
  auto kind = std::filesystem::status(path, fs_err).type();
  if (kind == std::filesystem::file_type::directory)
    return caf::make_error(code, what + " " + path + " is a directory");
  if (!fs_err && kind != std::filesystem::file_type::regular)
    return caf::make_error(code, what + " " + path + " is not a regular file");
  std::ifstream in{path};
  if (!in)
    return caf::make_error(code, "cannot read " + what + " " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  auto secret = trim(buf.str());
  if (secret.empty())
    return caf::make_error(code, what + " " + path + " is empty");
  if (secret.find_first_of(" \t\r\n") != std::string::npos)
    return caf::make_error(code,
                           what + " " + path + " holds more than one word");
  return secret;
}

} // namespace keepa
