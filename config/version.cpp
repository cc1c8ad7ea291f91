#include "config/version.hpp"

namespace keepa::version {

const char* const number = KEEPA_VERSION;

const char* const commit = KEEPA_GIT_COMMIT;

} // namespace keepa::version
